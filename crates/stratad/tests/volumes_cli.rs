//! The stock `docker volume …` commands against stratad print what they print against Docker
//! (expected texts captured from Docker 20.10 with the docker CLI 28.2), and `strata volume …`
//! prints the same as docker.

use strata_testkit::{CmdOutput, Daemon};

/// Replaces the daemon's data-root and the creation times, which differ run to run.
fn normalise(d: &Daemon, text: &str) -> String {
    let root = d.data_root.display().to_string();
    let mut out = text.replace(&root, "ROOT");
    // RFC3339 seconds: 2026-11-26T18:40:36Z
    while let Some(i) = out.find("\"CreatedAt\": \"") {
        let start = i + "\"CreatedAt\": \"".len();
        out.replace_range(start..start + 20, "TIME");
        out.replace_range(i..i + 1, "'");
    }
    out.replace("'CreatedAt\"", "\"CreatedAt\"")
}

fn expect(d: &Daemon, out: &CmdOutput, stdout: &str, stderr: &str, code: i32) {
    assert_eq!(normalise(d, &out.stdout), stdout, "stdout (stderr: {})", out.stderr);
    assert_eq!(out.stderr, stderr, "stderr");
    assert_eq!(out.code, code, "exit code");
}

fn setup(d: &Daemon) {
    expect(d, &d.docker(&["volume", "create", "--label", "env=prod", "clia"]), "clia\n", "", 0);
    expect(d, &d.docker(&["volume", "create", "clib"]), "clib\n", "", 0);
    expect(
        d,
        &d.docker(&["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "clic"]),
        "clic\n",
        "",
        0,
    );
}

#[test]
fn docker_volume_ls_prints_what_docker_prints() {
    let d = Daemon::start();
    setup(&d);
    let table = "DRIVER    VOLUME NAME\nlocal     clia\nlocal     clib\nlocal     clic\n";
    expect(&d, &d.docker(&["volume", "ls"]), table, "", 0);
    expect(&d, &d.docker(&["volume", "list", "--filter", "name=cli"]), table, "", 0);
    expect(&d, &d.docker(&["volume", "ls", "-q"]), "clia\nclib\nclic\n", "", 0);
    expect(
        &d,
        &d.docker(&[
            "volume",
            "ls",
            "--format",
            "table {{.Name}}\\t{{.Labels}}\\t{{.Size}}\\t{{.Links}}\\t{{.Scope}}\\t{{.Driver}}",
        ]),
        "VOLUME NAME   LABELS     SIZE      LINKS     SCOPE     DRIVER\n\
         clia          env=prod   N/A       N/A       local     local\n\
         clib                     N/A       N/A       local     local\n\
         clic                     N/A       N/A       local     local\n",
        "",
        0,
    );
    expect(
        &d,
        &d.docker(&["volume", "ls", "--format", "{{.Name}}|{{.Label \"env\"}}|{{.Mountpoint}}"]),
        "clia|prod|ROOT/volumes/clia/_data\nclib||ROOT/volumes/clib/_data\nclic||ROOT/volumes/clic/_data\n",
        "",
        0,
    );
    expect(
        &d,
        &d.docker(&["volume", "ls", "--format", "json", "-f", "name=clia"]),
        "{\"Availability\":\"N/A\",\"Driver\":\"local\",\"Group\":\"N/A\",\"Labels\":\"env=prod\",\"Links\":\"N/A\",\"Mountpoint\":\"ROOT/volumes/clia/_data\",\"Name\":\"clia\",\"Scope\":\"local\",\"Size\":\"N/A\",\"Status\":\"N/A\"}\n",
        "",
        0,
    );
    expect(
        &d,
        &d.docker(&["volume", "ls", "--filter", "label=env=prod"]),
        "DRIVER    VOLUME NAME\nlocal     clia\n",
        "",
        0,
    );
    expect(
        &d,
        &d.docker(&["volume", "ls", "--filter", "dangling=true", "--filter", "name=^clic$"]),
        "DRIVER    VOLUME NAME\nlocal     clic\n",
        "",
        0,
    );
    expect(
        &d,
        &d.docker(&["volume", "ls", "--filter", "bogus=1"]),
        "",
        "Error response from daemon: Invalid filter 'bogus'\n",
        1,
    );
    expect(
        &d,
        &d.docker(&["volume", "ls", "--filter", "dangling=maybe"]),
        "",
        "Error response from daemon: Invalid filter 'dangling=[maybe]'\n",
        1,
    );
}

const INSPECT_CLIA: &str = "    {
        \"CreatedAt\": \"TIME\",
        \"Driver\": \"local\",
        \"Labels\": {
            \"env\": \"prod\"
        },
        \"Mountpoint\": \"ROOT/volumes/clia/_data\",
        \"Name\": \"clia\",
        \"Options\": null,
        \"Scope\": \"local\"
    }";

const INSPECT_CLIC: &str = "    {
        \"CreatedAt\": \"TIME\",
        \"Driver\": \"local\",
        \"Labels\": null,
        \"Mountpoint\": \"ROOT/volumes/clic/_data\",
        \"Name\": \"clic\",
        \"Options\": {
            \"device\": \"tmpfs\",
            \"o\": \"size=1m\",
            \"type\": \"tmpfs\"
        },
        \"Scope\": \"local\"
    }";

#[test]
fn docker_volume_inspect_and_rm_print_what_docker_prints() {
    let d = Daemon::start();
    setup(&d);
    expect(
        &d,
        &d.docker(&["volume", "inspect", "clia", "clic"]),
        &format!("[\n{INSPECT_CLIA},\n{INSPECT_CLIC}\n]\n"),
        "",
        0,
    );
    expect(
        &d,
        &d.docker(&["volume", "inspect", "--format", "{{.Name}} {{.Labels}} {{.Options}} {{.Scope}}", "clia", "clic"]),
        "clia map[env:prod] map[] local\nclic map[] map[device:tmpfs o:size=1m type:tmpfs] local\n",
        "",
        0,
    );
    let no_such = "Error response from daemon: get nosuch: no such volume\n";
    expect(&d, &d.docker(&["volume", "inspect", "clia", "nosuch"]), &format!("[\n{INSPECT_CLIA}\n]\n"), no_such, 1);
    expect(&d, &d.docker(&["volume", "inspect", "nosuch"]), "[]\n", no_such, 1);
    expect(&d, &d.docker(&["volume", "rm", "clib", "nosuch"]), "clib\n", no_such, 1);
    expect(&d, &d.docker(&["volume", "rm", "-f", "nosuch"]), "nosuch\n", "", 0);
    expect(&d, &d.docker(&["volume", "create", "clia"]), "clia\n", "", 0);
}

#[test]
fn docker_volume_create_errors_print_what_docker_prints() {
    let d = Daemon::start();
    let cases: [(&[&str], &str); 4] = [
        (&["a"], "create a: volume name is too short, names should be at least two alphanumeric characters"),
        (&["-o", "foo", "clix"], "create clix: invalid option: \"foo\""),
        (&["-d", "other", "clix"], "create clix: error looking up volume plugin other: plugin \"other\" not found"),
        (&["-o", "type=tmpfs", "clix"], "create clix: missing required option: \"device\""),
    ];
    for (args, message) in cases {
        let mut argv = vec!["volume", "create"];
        argv.extend_from_slice(args);
        expect(&d, &d.docker(&argv), "", &format!("Error response from daemon: {message}\n"), 1);
    }
}

#[test]
fn docker_volume_prune_and_system_df() {
    let d = Daemon::start();
    setup(&d);
    let anon = d.docker(&["volume", "create"]).ok().trim().to_owned();
    std::fs::write(d.data_root.join("volumes").join(&anon).join("_data/f"), vec![0u8; 1500]).expect("write");
    let df = d.docker(&["system", "df", "-v"]);
    let section = df
        .ok()
        .split("Local Volumes space usage:\n\n")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .unwrap_or("")
        .to_owned();
    let w = anon.len();
    let mut rows = [
        format!("{anon}   0         1.5kB"),
        format!("{:<w$}   0         0B", "clia"),
        format!("{:<w$}   0         0B", "clib"),
    ];
    rows.sort();
    let want = format!("{:<w$}   LINKS     SIZE\n{}", "VOLUME NAME", rows.join("\n"));
    assert_eq!(section, want);
    // API 1.50: anonymous volumes only, unless --all.
    expect(
        &d,
        &d.docker(&["volume", "prune", "-f"]),
        &format!("Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 1.5kB\n"),
        "",
        0,
    );
    expect(&d, &d.docker(&["volume", "prune", "-f"]), "Total reclaimed space: 0B\n", "", 0);
    expect(
        &d,
        &d.docker(&["volume", "prune", "-f", "-a", "--filter", "label=env=prod"]),
        "Deleted Volumes:\nclia\n\nTotal reclaimed space: 0B\n",
        "",
        0,
    );
    let out = d.docker_with_stdin(&["volume", "prune", "--all"], Some(b"n\n"));
    expect(
        &d,
        &out,
        "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ",
        "",
        0,
    );
    let out = d.docker_with_stdin(&["volume", "prune", "--all"], Some(b"y\n"));
    assert!(out.ok().contains("Deleted Volumes:\nclib\n"), "{}", out.stdout);
    expect(
        &d,
        &d.docker(&["volume", "prune", "-f", "--filter", "dangling=true"]),
        "",
        "Error response from daemon: Invalid filter 'dangling'\n",
        1,
    );
    expect(&d, &d.docker(&["volume", "ls", "-q"]), "clic\n", "", 0);
}

/// The strata CLI prints exactly what the docker CLI prints, for the same calls.
#[test]
fn strata_volume_prints_what_docker_prints() {
    let d = Daemon::start();
    setup(&d);
    let calls: &[&[&str]] = &[
        &["volume", "create", "--label", "x=y", "-o", "type=none", "-o", "device=/srv", "-o", "o=bind", "clid"],
        &["volume", "ls"],
        &["volume", "list", "-q", "--filter", "name=cli"],
        &[
            "volume",
            "ls",
            "--format",
            "table {{.Name}}\\t{{.Labels}}\\t{{.Size}}\\t{{.Links}}\\t{{.Scope}}\\t{{.Mountpoint}}",
        ],
        &["volume", "ls", "--format", "json"],
        &["volume", "ls", "--format", "{{.Name}}: {{.Label \"env\"}}"],
        &["volume", "ls", "-f", "label=env", "-f", "dangling=1"],
        &["volume", "ls", "-f", "bogus=1"],
        &["volume", "inspect", "clia", "clic", "nosuch"],
        &["volume", "inspect", "-f", "json", "clia", "clic"],
        &["volume", "inspect", "--format", "{{.Name}} {{.Options}} {{json .Labels}}", "clia", "clic"],
        &["volume", "inspect", "nosuch"],
        &["volume", "create", "a"],
        &["volume", "create", "-d", "other", "named"],
        &["volume", "rm", "clid", "nosuch"],
        &["volume", "rm", "-f", "nosuch"],
        &["volume", "prune", "-f", "--filter", "dangling=true"],
        &["volume", "prune", "-f", "-a", "--filter", "label=env=prod"],
        &["volume", "prune", "--force"],
    ];
    for call in calls {
        let docker = d.docker(call);
        // Undo what the docker call did, so that strata's call meets the same state.
        match call.get(1) {
            Some(&"create") if docker.code == 0 => {
                d.docker(&["volume", "rm", docker.stdout.trim()]).ok();
            }
            Some(&"rm") | Some(&"prune") => {
                for name in docker.stdout.lines().filter(|l| l.starts_with("cli")) {
                    d.docker(&["volume", "create", name]).ok();
                    if name == "clia" {
                        d.docker(&["volume", "rm", "clia"]).ok();
                        d.docker(&["volume", "create", "--label", "env=prod", "clia"]).ok();
                    }
                    if name == "clid" {
                        d.docker(&["volume", "rm", "clid"]).ok();
                        d.docker(&[
                            "volume",
                            "create",
                            "--label",
                            "x=y",
                            "-o",
                            "type=none",
                            "-o",
                            "device=/srv",
                            "-o",
                            "o=bind",
                            "clid",
                        ])
                        .ok();
                    }
                }
            }
            _ => {}
        }
        let strata = d.strata(call);
        let norm = |s: &str| normalise(&d, s);
        assert_eq!(norm(&strata.stdout), norm(&docker.stdout), "stdout of {call:?}");
        assert_eq!(strata.stderr, docker.stderr, "stderr of {call:?}");
        assert_eq!(strata.code, docker.code, "exit code of {call:?}");
    }
    let missing = d.strata(&["volume", "rm"]);
    missing.fails_with(1, "'strata volume rm' requires at least 1 argument");
    let bad_label = d.strata(&["volume", "create", "--label", "=v", "x1"]);
    bad_label.fails_with(125, "invalid label '=v': empty name");
}

#[test]
fn docker_plugin_commands_answer_as_an_engine_without_plugins() {
    // Texts captured from Docker 20.10 with no plugin installed.
    let d = Daemon::start();
    expect(&d, &d.docker(&["plugin", "ls"]), "ID        NAME      DESCRIPTION   ENABLED\n", "", 0);
    expect(
        &d,
        &d.docker(&["plugin", "ls", "--filter", "enabled=maybe"]),
        "",
        "Error response from daemon: Invalid filter 'enabled=[maybe]'\n",
        1,
    );
    for cmd in [
        &["plugin", "rm", "x"][..],
        &["plugin", "enable", "x"],
        &["plugin", "disable", "x"],
        &["plugin", "set", "x", "a=b"],
    ] {
        expect(&d, &d.docker(cmd), "", "Error response from daemon: plugin \"x\" not found\n", 1);
    }
    expect(
        &d,
        &d.docker(&["plugin", "inspect", "x"]),
        "[]\n",
        "Error response from daemon: plugin \"x\" not found\n",
        1,
    );
    // Installing one cannot work (no plugin store, no registry): said plainly, not "not found".
    d.docker(&["plugin", "install", "--grant-all-permissions", "vieux/sshfs"])
        .fails_with(1, "strata does not install managed plugins");
    let created = d.http_raw("POST", "/plugins/create?name=x", &[("Content-Type", "application/x-tar")], Some(b""));
    assert_eq!(created.status, 501, "{}", created.text());
    // A volume asking for a driver that is not there fails as on Docker.
    d.docker(&["volume", "create", "-d", "vieux/sshfs", "sshvolume"]).fails_with(
        1,
        "Error response from daemon: create sshvolume: error looking up volume plugin vieux/sshfs: plugin \"vieux/sshfs\" not found",
    );
}
