//! `strata volume create|ls|inspect|rm|prune`, with the docker CLI's flags, output and exit
//! codes, as API calls; strata's data commands (export, import, clone, backup, restore,
//! backups) are in `data`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use http::Method;
use serde_json::{Value, json};
use strata_client::{Client, encode};

use crate::output::{Listing, print_inspect};
use crate::template::Method as RowMethod;
use crate::units::human_size;

mod data;
mod s3;

/// The API version from which prune takes `all` (and removes only anonymous volumes without it).
const PRUNE_ALL_API: &str = "1.42";

#[derive(Debug, clap::Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
    /// Write the contents of a volume as a tar archive (STDOUT by default)
    Export(data::ExportArgs),
    /// Fill a volume from a tar archive (plain, gzip or zstd)
    Import(data::ImportArgs),
    /// Create a volume with the contents, labels and options of another
    Clone(data::CloneArgs),
    /// Back volumes up into a directory (zstd tar + manifest)
    Backup(data::BackupArgs),
    /// Restore a volume from a backup, verifying its checksum
    Restore(data::RestoreArgs),
    /// List and prune the backups in a directory
    #[command(subcommand)]
    Backups(data::BackupsCommand),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Volume name (generated when omitted)
    volume: Vec<String>,
    /// Specify volume driver name
    #[arg(short = 'd', long = "driver", default_value = "local")]
    driver: String,
    /// Set driver specific options (key=value)
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    opt: Vec<String>,
    /// Set metadata for a volume (key=value)
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    label: Vec<(String, String)>,
}

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long = "filter", value_parser = parse_filter)]
    filter: Vec<(String, String)>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json' or a Go template)
    #[arg(long = "format")]
    format: Option<String>,
    /// Only display volume names
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Volumes to inspect
    volume: Vec<String>,
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Volumes to remove
    volume: Vec<String>,
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long = "force")]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_parser = parse_filter)]
    filter: Vec<(String, String)>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    force: bool,
}

/// `key=value` of `--filter`.
fn parse_filter(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) => Ok((k.trim().to_lowercase(), v.to_owned())),
        None => Err("bad format of filter (expected name=value)".to_owned()),
    }
}

/// `key[=value]` of `--label` (an empty key is refused, as by docker).
fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').unwrap_or((s, ""));
    if k.is_empty() {
        return Err(format!("invalid label '{s}': empty name"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

/// docker's message for a command given too few or too many arguments; exit status 1.
fn arg_count_error(cmd: &str, usage: &str, what: &str) -> ExitCode {
    eprintln!(
        "strata: 'strata volume {cmd}' requires {what}\n\nUsage:  strata volume {cmd} {usage}\n\nSee 'strata volume {cmd} --help' for more information"
    );
    ExitCode::FAILURE
}

/// The JSON filters argument: `{"key":{"value":true}}`.
fn filters_json(pairs: &[(String, String)]) -> String {
    let mut map: BTreeMap<&str, BTreeMap<&str, bool>> = BTreeMap::new();
    for (k, v) in pairs {
        map.entry(k).or_default().insert(v, true);
    }
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned())
}

pub async fn run(client: &Client, command: VolumeCommand) -> anyhow::Result<ExitCode> {
    match command {
        VolumeCommand::Create(a) => create(client, a).await,
        VolumeCommand::Ls(a) => ls(client, a).await,
        VolumeCommand::Inspect(a) => inspect(client, a).await,
        VolumeCommand::Rm(a) => rm(client, a).await,
        VolumeCommand::Prune(a) => prune(client, a).await,
        VolumeCommand::Export(a) => data::export(client, a).await,
        VolumeCommand::Import(a) => data::import(client, a).await,
        VolumeCommand::Clone(a) => data::clone(client, a).await,
        VolumeCommand::Backup(a) => data::backup(client, a).await,
        VolumeCommand::Restore(a) => data::restore(client, a).await,
        VolumeCommand::Backups(c) => data::backups(c).await,
    }
}

async fn create(client: &Client, args: CreateArgs) -> anyhow::Result<ExitCode> {
    if args.volume.len() > 1 {
        return Ok(arg_count_error("create", "[OPTIONS] [VOLUME]", "at most 1 argument"));
    }
    let mut body = json!({ "Driver": args.driver });
    if let Some(name) = args.volume.first() {
        body["Name"] = json!(name);
    }
    if !args.opt.is_empty() {
        let opts: BTreeMap<&str, &str> = args.opt.iter().map(|o| o.split_once('=').unwrap_or((o, ""))).collect();
        body["DriverOpts"] = json!(opts);
    }
    if !args.label.is_empty() {
        let labels: BTreeMap<&str, &str> = args.label.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        body["Labels"] = json!(labels);
    }
    let volume: Value = client.send_json(Method::POST, "/volumes/create", &body).await?;
    println!("{}", text(&volume["Name"]));
    Ok(ExitCode::SUCCESS)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// A volume as `ls` rows show it (the docker CLI's volume formatting context).
fn row(v: &Value) -> Value {
    let labels = v["Labels"]
        .as_object()
        .map(|m| {
            let mut pairs: Vec<String> = m.iter().map(|(k, val)| format!("{k}={}", text(val))).collect();
            pairs.sort();
            pairs.join(",")
        })
        .unwrap_or_default();
    let usage = &v["UsageData"];
    let (links, size) = if usage.is_object() {
        let size = usage["Size"].as_f64().unwrap_or(-1.0);
        (usage["RefCount"].to_string(), if size < 0.0 { "N/A".to_owned() } else { human_size(size) })
    } else {
        ("N/A".to_owned(), "N/A".to_owned())
    };
    json!({
        "Availability": "N/A",
        "Driver": text(&v["Driver"]),
        "Group": "N/A",
        "Labels": labels,
        "Links": links,
        "Mountpoint": text(&v["Mountpoint"]),
        "Name": text(&v["Name"]),
        "Scope": text(&v["Scope"]),
        "Size": size,
        "Status": "N/A",
        // Kept for `.Label "k"`; not printed by `json`.
        "_labels": v["Labels"],
    })
}

fn label_method(row: &Value, args: &[String]) -> Value {
    match args.first() {
        Some(k) => Value::String(row["_labels"][k].as_str().unwrap_or("").to_owned()),
        None => Value::String(String::new()),
    }
}

/// The default `ls` table.
const LS_TABLE: &str = "table {{.Driver}}\t{{.Name}}";

fn ls_listing() -> Listing<'static> {
    let headers = BTreeMap::from([
        ("Name", "VOLUME NAME"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("Mountpoint", "MOUNTPOINT"),
        ("Labels", "LABELS"),
        ("Links", "LINKS"),
        ("Size", "SIZE"),
        ("Label", "LABEL"),
        ("Availability", "AVAILABILITY"),
        ("Group", "GROUP"),
        ("Status", "STATUS"),
    ]);
    let methods: BTreeMap<&str, RowMethod> = BTreeMap::from([("Label", label_method as RowMethod)]);
    Listing { default_format: LS_TABLE, headers, methods }
}

async fn ls(client: &Client, args: LsArgs) -> anyhow::Result<ExitCode> {
    let path = if args.filter.is_empty() {
        "/volumes".to_owned()
    } else {
        format!("/volumes?filters={}", encode(&filters_json(&args.filter)))
    };
    let list: Value = client.get_json(&path).await?;
    let mut volumes: Vec<&Value> = list["Volumes"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    volumes.sort_by(|a, b| text(&a["Name"]).cmp(text(&b["Name"])));
    let mut rows: Vec<Value> = volumes.into_iter().map(row).collect();
    let format = match args.format.as_deref() {
        None | Some("") | Some("table") if args.quiet => "{{.Name}}",
        None | Some("") | Some("table") => LS_TABLE,
        Some(f) => f,
    };
    if format == "json" {
        for r in &mut rows {
            if let Some(m) = r.as_object_mut() {
                m.remove("_labels");
            }
        }
    }
    ls_listing().print(&rows, Some(format))?;
    Ok(ExitCode::SUCCESS)
}

/// docker decodes volumes into a typed struct, so a `null` map prints as `map[]` with
/// `{{.Labels}}` (but stays `null` under `{{json .Labels}}`).
fn inspect_methods() -> BTreeMap<&'static str, RowMethod> {
    fn map_or_empty(v: &Value) -> Value {
        if v.is_null() { json!({}) } else { v.clone() }
    }
    BTreeMap::from([
        ("Labels", (|row: &Value, _: &[String]| map_or_empty(&row["Labels"])) as RowMethod),
        ("Options", (|row: &Value, _: &[String]| map_or_empty(&row["Options"])) as RowMethod),
    ])
}

async fn inspect(client: &Client, args: InspectArgs) -> anyhow::Result<ExitCode> {
    if args.volume.is_empty() {
        return Ok(arg_count_error("inspect", "[OPTIONS] VOLUME [VOLUME...]", "at least 1 argument"));
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &args.volume {
        match client.get_json::<Value>(&format!("/volumes/{}", encode(name))).await {
            Ok(v) => found.push(v),
            Err(e) => errors.push(e),
        }
    }
    print_inspect(&found, args.format.as_deref(), &inspect_methods())?;
    // As docker: what was found first, then the errors.
    for e in &errors {
        eprintln!("{e}");
    }
    Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn rm(client: &Client, args: RmArgs) -> anyhow::Result<ExitCode> {
    if args.volume.is_empty() {
        return Ok(arg_count_error("rm", "[OPTIONS] VOLUME [VOLUME...]", "at least 1 argument"));
    }
    let mut failed = false;
    let stdout = std::io::stdout();
    for name in &args.volume {
        let force = if args.force { "?force=1" } else { "" };
        match client.send_empty(Method::DELETE, &format!("/volumes/{}{force}", encode(name))).await {
            Ok(_) => writeln!(stdout.lock(), "{name}")?,
            Err(e) => {
                failed = true;
                eprintln!("{e}");
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Asks the prune question on the terminal; true when answered yes.
fn confirm(all: bool) -> anyhow::Result<bool> {
    let which = if all { "all local volumes" } else { "anonymous local volumes" };
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "WARNING! This will remove {which} not used by at least one container.\nAre you sure you want to continue? [y/N] "
    )?;
    out.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y"))
}

async fn prune(client: &Client, args: PruneArgs) -> anyhow::Result<ExitCode> {
    if let Some((_, v)) = args.filter.iter().find(|(k, _)| k == "all")
        && args.all
    {
        anyhow::bail!("conflicting options: cannot specify both --all and --filter all={v}");
    }
    let supports_all = !strata_client::version_lt(client.api_version(), PRUNE_ALL_API);
    if args.all && !supports_all {
        anyhow::bail!(
            "\"--all\" requires API version {PRUNE_ALL_API}, but the Docker daemon API version is {}",
            client.api_version()
        );
    }
    let all = args.all || !supports_all;
    if !args.force && !confirm(all)? {
        return Ok(ExitCode::SUCCESS);
    }
    let mut filter = args.filter.clone();
    if args.all {
        filter.push(("all".to_owned(), "true".to_owned()));
    }
    let path = format!("/volumes/prune?filters={}", encode(&filters_json(&filter)));
    let report: Value = strata_client::decode(client.request(Method::POST, &path, None, None).await?).await?;
    let mut out = String::new();
    let deleted: Vec<&str> =
        report["VolumesDeleted"].as_array().map(|a| a.iter().map(text).collect()).unwrap_or_default();
    if !deleted.is_empty() {
        out.push_str("Deleted Volumes:\n");
        for name in deleted {
            out.push_str(name);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&format!("Total reclaimed space: {}\n", human_size(report["SpaceReclaimed"].as_f64().unwrap_or(0.0))));
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_like_dockers() {
        assert_eq!(parse_filter("label=a=b"), Ok(("label".into(), "a=b".into())));
        assert!(parse_filter("bad").is_err());
        assert_eq!(parse_label("k"), Ok(("k".into(), String::new())));
        assert_eq!(parse_label("=v"), Err("invalid label '=v': empty name".into()));
        assert_eq!(
            filters_json(&[("label".into(), "a".into()), ("label".into(), "b".into()), ("all".into(), "true".into())]),
            r#"{"all":{"true":true},"label":{"a":true,"b":true}}"#
        );
    }

    #[test]
    fn rows_have_the_docker_cli_fields() {
        let v = json!({"Name":"v","Driver":"local","Scope":"local","Mountpoint":"/m","Labels":{"b":"2","a":"1"}});
        let r = row(&v);
        assert_eq!(r["Labels"], "a=1,b=2");
        assert_eq!(r["Links"], "N/A");
        assert_eq!(label_method(&r, &["b".into()]), json!("2"));
        let with_usage = row(&json!({"Name":"v","Labels":null,"UsageData":{"RefCount":2,"Size":1234}}));
        assert_eq!((with_usage["Links"].as_str(), with_usage["Size"].as_str()), (Some("2"), Some("1.23kB")));
    }
}
