//! The guide's `docker compose` section against stratad, with Debian's docker-compose 1.29
//! (docker-py): named volumes (default driver, `driver: local`, `driver_opts` bind onto a host
//! directory), bind mounts (a directory, a file `:ro`), an external volume with `name:`, a
//! healthcheck with `depends_on: condition: service_healthy`, `command:`, `environment:`, then
//! `down` (volumes stay) and `down -v` (the project's volumes go, the external one stays).
//! Images are busybox (no registry): the "db" becomes healthy once a file exists.
//!
//! Also: networks as compose and the CLI use them, and `docker secret create` on a node that is
//! not a swarm manager.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use strata_testkit::{CmdOutput, Daemon};

/// docker-compose (v1, Debian's `docker-compose` package), or why not. Under CI it must be
/// there (`scripts/lib.sh` ensure_deps installs it).
fn compose_binary(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("docker-compose")).find(|p| p.is_file()));
    if found.is_none() {
        let why = "docker-compose is not installed (apt-get install docker-compose; scripts/lib.sh ensure_deps does)";
        if strata_testkit::in_ci() {
            panic!("{test}: {why}");
        }
        eprintln!("SKIPPED {test}: {why}");
    }
    found
}

fn compose(d: &Daemon, bin: &Path, dir: &Path, args: &[&str]) -> CmdOutput {
    compose_env(d, bin, dir, args, &[])
}

fn compose_env(d: &Daemon, bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> CmdOutput {
    let out = Command::new(bin)
        .args(["-p", "guide"])
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .env("DOCKER_HOST", d.host())
        .env("COMPOSE_INTERACTIVE_NO_CLI", "1")
        .output()
        .expect("run docker-compose");
    CmdOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn volume_names(d: &Daemon) -> Vec<String> {
    let mut v: Vec<String> =
        d.docker(&["volume", "ls", "-q"]).ok().lines().map(str::to_owned).filter(|l| !l.is_empty()).collect();
    v.sort();
    v
}

const COMPOSE_FILE: &str = r#"services:
  app:
    image: busybox:latest
    command: sh -c "if test -f /dbdata/ready; then echo db-was-ready; else echo db-not-ready; fi; exec sleep 300"
    volumes:
      - ./src:/app/src
      - app_uploads:/app/uploads
      - pgdata:/dbdata:ro
    depends_on:
      db:
        condition: service_healthy
  db:
    image: busybox:latest
    command: sh -c "sleep 2; touch /var/lib/postgresql/data/ready; exec sleep 300"
    environment:
      POSTGRES_PASSWORD: secret
    volumes:
      - pgdata:/var/lib/postgresql/data
      - ./init.sql:/docker-entrypoint-initdb.d/init.sql:ro
      - prod:/ext
    healthcheck:
      test: ["CMD-SHELL", "test -f /var/lib/postgresql/data/ready"]
      interval: 1s
  redis:
    image: busybox:latest
    volumes:
      - redis_data:/data
    command: sh -c "echo appendonly > /data/appendonly.aof; exec sleep 300"
volumes:
  pgdata:
  redis_data:
    driver: local
  app_uploads:
    driver_opts:
      type: none
      o: bind
      device: UPLOADS
  prod:
    external: true
    name: production_pgdata
"#;

#[test]
fn the_guides_compose_file_runs_and_down_keeps_volumes_unless_v() {
    const TEST: &str = "the_guides_compose_file_runs_and_down_keeps_volumes_unless_v";
    let Some(bin) = compose_binary(TEST) else { return };
    let Some(d) = Daemon::with_busybox(TEST) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let uploads = root.join("uploads");
    std::fs::create_dir_all(&uploads).expect("uploads");
    std::fs::create_dir_all(root.join("src")).expect("src");
    std::fs::write(root.join("src/main.txt"), "source\n").expect("src file");
    std::fs::write(root.join("init.sql"), "CREATE TABLE t (id int);\n").expect("init.sql");
    let file = COMPOSE_FILE.replace("UPLOADS", &uploads.display().to_string());
    std::fs::write(root.join("docker-compose.yml"), file).expect("compose file");

    // The external volume must pre-exist; it holds production data.
    d.docker(&["volume", "create", "production_pgdata"]).ok();
    d.docker(&["run", "--rm", "-v", "production_pgdata:/p", "busybox", "sh", "-c", "echo prod > /p/marker"]).ok();

    let t0 = Instant::now();
    let up = compose(&d, &bin, root, &["up", "-d"]);
    up.ok();
    assert!(up.stderr.contains("Creating network \"guide_default\""), "{}", up.stderr);
    assert!(t0.elapsed() >= Duration::from_secs(2), "up waited for the db to become healthy");

    // The healthcheck ran and gated the app.
    assert_eq!(d.docker(&["inspect", "-f", "{{.State.Health.Status}}", "guide_db_1"]).ok(), "healthy\n");
    assert_eq!(d.docker(&["logs", "guide_app_1"]).ok(), "db-was-ready\n");
    let ps = compose(&d, &bin, root, &["ps"]);
    assert!(ps.ok().contains("Up (healthy)"), "{}", ps.stdout);
    let healthy = d.docker(&["ps", "--filter", "health=healthy", "--format", "{{.Names}} {{.Status}}"]).ok().to_owned();
    assert!(healthy.starts_with("guide_db_1 Up ") && healthy.trim_end().ends_with("(healthy)"), "{healthy}");
    let none = d.docker(&["ps", "--filter", "health=none", "--format", "{{.Names}}"]).ok().to_owned();
    assert_eq!(none.lines().count(), 2, "app and redis have no healthcheck: {none}");

    // Labels, environment, command, mounts.
    assert_eq!(
        d.docker(&["inspect", "-f", r#"{{index .Config.Labels "com.docker.compose.service"}}"#, "guide_db_1"]).ok(),
        "db\n"
    );
    assert_eq!(d.docker(&["exec", "guide_db_1", "sh", "-c", "echo $POSTGRES_PASSWORD"]).ok(), "secret\n");
    assert_eq!(
        d.docker(&["exec", "guide_db_1", "cat", "/docker-entrypoint-initdb.d/init.sql"]).ok(),
        "CREATE TABLE t (id int);\n"
    );
    let ro = d.docker(&["exec", "guide_db_1", "sh", "-c", "echo x >> /docker-entrypoint-initdb.d/init.sql"]);
    assert_ne!(ro.code, 0, "the :ro bind is read-only");
    assert_eq!(d.docker(&["exec", "guide_db_1", "cat", "/ext/marker"]).ok(), "prod\n");
    assert_eq!(d.docker(&["exec", "guide_app_1", "cat", "/app/src/main.txt"]).ok(), "source\n");
    d.docker(&["exec", "guide_app_1", "sh", "-c", "echo upload > /app/uploads/f"]).ok();
    assert_eq!(std::fs::read_to_string(uploads.join("f")).expect("driver_opts bind"), "upload\n");
    assert_eq!(d.docker(&["exec", "guide_redis_1", "cat", "/data/appendonly.aof"]).ok(), "appendonly\n");
    let vols = volume_names(&d);
    assert_eq!(vols, ["guide_app_uploads", "guide_pgdata", "guide_redis_data", "production_pgdata"]);
    assert_eq!(
        d.docker(&[
            "volume",
            "inspect",
            "-f",
            r#"{{index .Labels "com.docker.compose.volume"}} {{.Driver}}"#,
            "guide_redis_data"
        ])
        .ok(),
        "redis_data local\n"
    );

    // The project network: a record with its members and their aliases.
    let members = d.docker(&["network", "inspect", "-f", "{{len .Containers}} {{.Driver}}", "guide_default"]);
    assert_eq!(members.ok(), "3 bridge\n");
    let aliases =
        d.docker(&["inspect", "-f", "{{json .NetworkSettings.Networks.guide_default.Aliases}}", "guide_db_1"]);
    assert!(aliases.ok().contains("\"db\""), "{}", aliases.stdout);

    // Recreating a container: compose 1.29 reads the image's `ContainerConfig`, which Docker
    // (and strata) leave out from API 1.45 on; pinning compose's API version is the known fix.
    let old = d.docker(&["inspect", "-f", "{{.Id}}", "guide_app_1"]).ok().to_owned();
    let recreate = ["up", "-d", "--force-recreate", "-t", "1", "app"];
    compose_env(&d, &bin, root, &recreate, &[("COMPOSE_API_VERSION", "1.44")]).ok();
    assert_ne!(d.docker(&["inspect", "-f", "{{.Id}}", "guide_app_1"]).ok(), old, "a new container");
    assert_eq!(d.docker(&["logs", "guide_app_1"]).ok(), "db-was-ready\n");

    // down: containers and network go, volumes stay with their data.
    compose(&d, &bin, root, &["down", "-t", "1"]).ok();
    assert_eq!(d.docker(&["ps", "-aq"]).ok(), "");
    d.docker(&["network", "inspect", "guide_default"]).fails_with(1, "network guide_default not found");
    assert_eq!(volume_names(&d), vols);
    assert_eq!(d.docker(&["run", "--rm", "-v", "guide_pgdata:/d", "busybox", "ls", "/d"]).ok(), "ready\n");

    // up again finds the volumes; down -v removes the project's, not the external one.
    compose(&d, &bin, root, &["up", "-d"]).ok();
    assert_eq!(d.docker(&["logs", "guide_app_1"]).ok(), "db-was-ready\n");
    let down = compose(&d, &bin, root, &["down", "-v", "-t", "1"]);
    down.ok();
    assert!(down.stderr.contains("Volume production_pgdata is external, skipping"), "{}", down.stderr);
    assert_eq!(volume_names(&d), ["production_pgdata"]);
    assert_eq!(d.docker(&["run", "--rm", "-v", "production_pgdata:/p", "busybox", "cat", "/p/marker"]).ok(), "prod\n");
    assert_eq!(std::fs::read_to_string(uploads.join("f")).expect("bind device kept"), "upload\n");
}

#[test]
fn networks_are_records_containers_join() {
    let Some(d) = Daemon::with_busybox("networks_are_records_containers_join") else { return };
    let ls = d.docker(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]).ok().to_owned();
    assert_eq!(ls, "host host\nnone null\n");
    let created = d.docker(&["network", "create", "--label", "tier=back", "backend"]);
    let id = created.ok().trim().to_owned();
    assert_eq!(id.len(), 64);
    d.docker(&["network", "create", "backend"]).fails_with(1, "network with name backend already exists");
    d.docker(&["network", "create", "-d", "overlay", "o"]).fails_with(1, "plugin \"overlay\" not found");
    assert_eq!(d.docker(&["network", "ls", "-q", "--filter", "label=tier=back"]).ok(), format!("{}\n", &id[..12]));
    d.docker(&["run", "--network", "nope", "busybox", "true"]).fails_with(125, "network nope not found");

    let run = d.docker(&[
        "run",
        "-d",
        "--name",
        "svc",
        "--network",
        "backend",
        "--network-alias",
        "api",
        "busybox",
        "sleep",
        "300",
    ]);
    run.ok();
    assert!(run.stderr.contains("WARNING: strata has no bridge networking"), "the create warns: {}", run.stderr);
    let aliases = d.docker(&["inspect", "-f", "{{json .NetworkSettings.Networks.backend.Aliases}}", "svc"]);
    assert!(aliases.ok().contains("\"api\""), "{}", aliases.stdout);
    assert_eq!(
        d.docker(&["network", "inspect", "-f", "{{range .Containers}}{{.Name}}{{end}}", "backend"]).ok(),
        "svc\n"
    );
    assert_eq!(d.docker(&["ps", "--filter", &format!("network={id}"), "--format", "{{.Names}}"]).ok(), "svc\n");
    d.docker(&["network", "rm", "backend"]).fails_with(1, "has active endpoints");
    d.docker(&["network", "rm", "host"]).fails_with(1, "host is a pre-defined network and cannot be removed");
    d.docker(&["network", "disconnect", "backend", "svc"]).ok();
    d.docker(&["network", "connect", "--alias", "x", "backend", "svc"]).ok();
    d.docker(&["rm", "-f", "svc"]).ok();
    d.docker(&["network", "rm", "backend"]).ok();
    d.docker(&["network", "create", "left"]).ok();
    assert_eq!(d.docker(&["network", "prune", "-f"]).ok(), "Deleted Networks:\nleft\n\n");
}

#[test]
fn secrets_need_a_swarm_as_in_docker() {
    let Some(d) = Daemon::with_busybox("secrets_need_a_swarm_as_in_docker") else { return };
    const MSG: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect \
                       this node to swarm and try again.";
    d.docker_with_stdin(&["secret", "create", "db_pass", "-"], Some(b"s3cr3t\n")).fails_with(1, MSG);
    let r = d.http_json("POST", "/v1.41/secrets/create", &serde_json::json!({"Name": "db_pass", "Data": "czNjcjN0"}));
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["message"], MSG);
    assert_eq!(d.http("GET", "/v1.41/secrets").status, 503);
    // What the message suggests cannot work here, and says so.
    d.docker(&["swarm", "init"]).fails_with(1, "strata does not implement swarm mode");
    d.docker(&["swarm", "leave"]).fails_with(1, "Error response from daemon: This node is not part of a swarm");
    d.docker(&["service", "ls"]).fails_with(1, MSG);
}

#[test]
fn healthchecks_probe_count_retries_time_out_and_stop_with_the_container() {
    let Some(d) = Daemon::with_busybox("healthchecks_probe_count_retries_time_out_and_stop_with_the_container") else {
        return;
    };
    let health = |name: &str| {
        d.docker(&["inspect", "-f", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}", name]).ok().to_owned()
    };
    let wait_for = |name: &str, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = health(name);
            if now.starts_with(want) {
                return now;
            }
            assert!(Instant::now() < deadline, "{name} never became {want}: {now}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    d.docker(&[
        "run",
        "-d",
        "--name",
        "sick",
        "--health-cmd",
        "echo probing; exit 1",
        "--health-interval",
        "300ms",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    assert_eq!(health("sick"), "starting 0\n");
    assert_eq!(wait_for("sick", "unhealthy"), "unhealthy 2\n");
    let log = d.docker(&[
        "inspect",
        "-f",
        "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}",
        "sick",
    ]);
    assert_eq!(log.ok(), "1 probing\n\n");
    assert!(d.docker(&["ps", "--format", "{{.Status}}"]).ok().trim_end().ends_with("(unhealthy)"));

    d.docker(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 5",
        "--health-interval",
        "300ms",
        "--health-timeout",
        "1s",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    wait_for("slow", "unhealthy");
    let out = d.docker(&[
        "inspect",
        "-f",
        "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}",
        "slow",
    ]);
    assert_eq!(out.ok(), "-1 Health check exceeded timeout (1s)\n");

    d.docker(&[
        "run",
        "-d",
        "--name",
        "fine",
        "--health-cmd",
        "true",
        "--health-interval",
        "300ms",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    wait_for("fine", "healthy");
    d.docker(&["stop", "-t", "1", "fine"]).ok();
    assert_eq!(health("fine"), "unhealthy 0\n", "a stopped container is unhealthy, as in Docker");
    d.docker(&["start", "fine"]).ok();
    assert_eq!(health("fine"), "starting 0\n");
    wait_for("fine", "healthy");
    assert_eq!(d.docker(&["ps", "-q", "--filter", "health=healthy"]).ok().lines().count(), 1);
    d.docker(&["ps", "--filter", "health=sickly"]).fails_with(1, "Unrecognised filter value for health: sickly");
    d.docker(&["rm", "-f", "sick", "slow", "fine"]).ok();
}

#[test]
fn events_stream_container_lifecycle_and_health() {
    let Some(d) = Daemon::with_busybox("events_stream_container_lifecycle_and_health") else { return };
    let until = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_secs() + 10;
    let listener = Command::new(strata_testkit::docker_cli())
        .args(["events", "--filter", "container=evt", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"])
        .args(["--until", &until.to_string()])
        .env("DOCKER_HOST", d.host())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("docker events");
    std::thread::sleep(Duration::from_millis(500));
    d.docker(&["run", "-d", "--name", "other", "busybox", "true"]).ok();
    d.docker(&[
        "run",
        "--rm",
        "--name",
        "evt",
        "--health-cmd",
        "true",
        "--health-interval",
        "200ms",
        "busybox",
        "sleep",
        "2",
    ])
    .ok();
    let out = listener.wait_with_output().expect("events output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text,
        "container create evt\ncontainer start evt\ncontainer health_status: healthy evt\ncontainer die evt\n\
         container destroy evt\n"
    );
    assert!(out.status.success());
}
