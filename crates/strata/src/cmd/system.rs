//! `strata version` and `strata info`, printed like `docker version` and `docker info`.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::{Value, json};
use strata_client::Client;

use crate::output::print_object;
use crate::units::bytes_size;

#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
}

fn client_section(client: &Client) -> Value {
    json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": client.api_version(),
        "DefaultAPIVersion": strata_client::CLIENT_API_VERSION,
        "GoVersion": "rust",
        "Os": "linux",
        "Arch": go_arch(),
        "Context": "default",
    })
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `strata version`: the client's facts, then the server's (which may be unreachable).
pub async fn version(client: &mut Client, args: VersionArgs) -> anyhow::Result<ExitCode> {
    let negotiated = client.negotiate().await;
    let server: Result<Value, _> = match negotiated {
        Ok(()) => client.get_json("/version").await,
        Err(e) => Err(e),
    };
    let client_facts = client_section(client);
    if let Some(format) = args.format.as_deref() {
        let server_value = server.as_ref().ok().cloned().unwrap_or(Value::Null);
        print_object(&json!({"Client": client_facts, "Server": server_value}), Some(format))?;
        return match server {
            Ok(_) => Ok(ExitCode::SUCCESS),
            Err(e) => Err(e.into()),
        };
    }
    let mut out = String::new();
    let api = client.api_version();
    let downgraded = if api != strata_client::CLIENT_API_VERSION {
        format!(" (downgraded from {})", strata_client::CLIENT_API_VERSION)
    } else {
        String::new()
    };
    let _ = writeln!(out, "Client:");
    row(&mut out, 1, "Version", env!("CARGO_PKG_VERSION"));
    row(&mut out, 1, "API version", &format!("{api}{downgraded}"));
    row(&mut out, 1, "Go version", "rust");
    row(&mut out, 1, "OS/Arch", &format!("linux/{}", go_arch()));
    row(&mut out, 1, "Context", "default");
    print!("{out}");
    let server = server?;
    let mut out = String::new();
    let platform = server["Platform"]["Name"].as_str().unwrap_or("");
    let _ = writeln!(out, "\nServer:{}{}", if platform.is_empty() { "" } else { " " }, platform);
    for component in server["Components"].as_array().into_iter().flatten() {
        let name = component["Name"].as_str().unwrap_or("");
        let details = &component["Details"];
        let _ = writeln!(out, " {name}:");
        if name == "Engine" {
            row(&mut out, 2, "Version", text(&component["Version"]));
            row(
                &mut out,
                2,
                "API version",
                &format!("{} (minimum version {})", text(&details["ApiVersion"]), text(&details["MinAPIVersion"])),
            );
            row(&mut out, 2, "Go version", text(&details["GoVersion"]));
            row(&mut out, 2, "Git commit", text(&details["GitCommit"]));
            let built = text(&details["BuildTime"]);
            let built = humantime::parse_rfc3339_weak(built).map(ansic).unwrap_or_else(|_| built.to_owned());
            row(&mut out, 2, "Built", &built);
            row(&mut out, 2, "OS/Arch", &format!("{}/{}", text(&details["Os"]), text(&details["Arch"])));
            row(&mut out, 2, "Experimental", text(&details["Experimental"]));
        } else {
            row(&mut out, 2, "Version", text(&component["Version"]));
            if let Some(map) = details.as_object() {
                for (k, v) in map {
                    row(&mut out, 2, k, text(v));
                }
            }
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// `strata info`.
pub async fn info(client: &Client, args: InfoArgs) -> anyhow::Result<ExitCode> {
    let info: Value = client.get_json("/info").await?;
    if let Some(format) = args.format.as_deref() {
        print_object(&info, Some(format))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut o = String::new();
    let _ = writeln!(o, "Client:");
    let _ = writeln!(o, " Version:    {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(o, " Context:    default");
    let _ = writeln!(o, " Debug Mode: false");
    let _ = writeln!(o);
    let _ = writeln!(o, "Server:");
    let i = &info;
    let _ = writeln!(o, " Containers: {}", i["Containers"]);
    let _ = writeln!(o, "  Running: {}", i["ContainersRunning"]);
    let _ = writeln!(o, "  Paused: {}", i["ContainersPaused"]);
    let _ = writeln!(o, "  Stopped: {}", i["ContainersStopped"]);
    let _ = writeln!(o, " Images: {}", i["Images"]);
    let _ = writeln!(o, " Server Version: {}", text(&i["ServerVersion"]));
    let _ = writeln!(o, " Storage Driver: {}", text(&i["Driver"]));
    for pair in i["DriverStatus"].as_array().into_iter().flatten() {
        let _ = writeln!(o, "  {}: {}", text(&pair[0]), text(&pair[1]));
    }
    let _ = writeln!(o, " Logging Driver: {}", text(&i["LoggingDriver"]));
    let _ = writeln!(o, " Cgroup Driver: {}", text(&i["CgroupDriver"]));
    let _ = writeln!(o, " Cgroup Version: {}", text(&i["CgroupVersion"]));
    let _ = writeln!(o, " Plugins:");
    let _ = writeln!(o, "  Volume: {}", words(&i["Plugins"]["Volume"]));
    let _ = writeln!(o, "  Network: {}", words(&i["Plugins"]["Network"]));
    let _ = writeln!(o, "  Log: {}", words(&i["Plugins"]["Log"]));
    let _ = writeln!(o, " Swarm: {}", text(&i["Swarm"]["LocalNodeState"]));
    let runtimes: Vec<&str> =
        i["Runtimes"].as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    let _ = writeln!(o, " Runtimes: {}", runtimes.join(" "));
    let _ = writeln!(o, " Default Runtime: {}", text(&i["DefaultRuntime"]));
    let _ = writeln!(o, " Kernel Version: {}", text(&i["KernelVersion"]));
    let _ = writeln!(o, " Operating System: {}", text(&i["OperatingSystem"]));
    let _ = writeln!(o, " OSType: {}", text(&i["OSType"]));
    let _ = writeln!(o, " Architecture: {}", text(&i["Architecture"]));
    let _ = writeln!(o, " CPUs: {}", i["NCPU"]);
    let _ = writeln!(o, " Total Memory: {}", bytes_size(i["MemTotal"].as_f64().unwrap_or(0.0)));
    let _ = writeln!(o, " Name: {}", text(&i["Name"]));
    let _ = writeln!(o, " ID: {}", text(&i["ID"]));
    let _ = writeln!(o, " Docker Root Dir: {}", text(&i["DockerRootDir"]));
    let _ = writeln!(o, " Debug Mode: {}", i["Debug"]);
    let _ = writeln!(o, " Experimental: {}", i["ExperimentalBuild"]);
    let _ = writeln!(o, " Live Restore Enabled: {}", i["LiveRestoreEnabled"]);
    print!("{o}");
    for w in i["Warnings"].as_array().into_iter().flatten() {
        eprintln!("{}", text(w));
    }
    Ok(ExitCode::SUCCESS)
}

fn row(out: &mut String, indent: usize, key: &str, value: &str) {
    let label = format!("{}{key}:", " ".repeat(indent));
    let _ = writeln!(out, "{label:<20}{value}");
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn words(v: &Value) -> String {
    v.as_array().map(|a| a.iter().map(|x| text(x).to_owned()).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

/// Go's `time.ANSIC` layout in UTC: `Mon Jan  2 15:04:05 2006`.
fn ansic(t: std::time::SystemTime) -> String {
    let s = humantime::format_rfc3339_seconds(t).to_string(); // 2026-11-26T17:49:23Z
    let (date, time) = (&s[0..10], &s[11..19]);
    let mut parts = date.split('-').map(|p| p.parse::<i64>().unwrap_or(0));
    let (y, m, d) = (parts.next().unwrap_or(1970), parts.next().unwrap_or(1), parts.next().unwrap_or(1));
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let days_since_epoch = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 86400).unwrap_or(0);
    let weekday = DAYS[(days_since_epoch % 7) as usize];
    format!("{weekday} {} {d:>2} {time} {y}", MONTHS[(m.clamp(1, 12) - 1) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansic_matches_go() {
        let t = humantime::parse_rfc3339("2025-05-30T12:07:14Z").expect("time");
        assert_eq!(ansic(t), "Fri May 30 12:07:14 2025");
        let t = humantime::parse_rfc3339("2026-11-02T01:02:03Z").expect("time");
        assert_eq!(ansic(t), "Mon Nov  2 01:02:03 2026");
    }
}
