//! `strata system df [-v]`, `strata system prune`, `strata image prune`, `strata container
//! prune`: Docker's tables, prompts and "Total reclaimed space" summaries, plus strata's
//! `--dry-run` (the daemon's `dryrun=1`: list what would go and the space, remove nothing) and
//! the list of what a prune skipped and why (objects labelled `strata.protect=true`, images in
//! use).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;
use serde_json::Value;
use strata_client::{Client, encode};

use crate::tabwriter::align;
use crate::units::{human_duration, human_size_with_precision};

/// Significant digits of go-units' `HumanSize` (summary sizes, shared and unique sizes).
const SIZE_DIGITS: usize = 4;
/// Significant digits of the size columns `docker images`/`ps -s` print.
const COLUMN_DIGITS: usize = 3;
/// Characters of a command shown before it is cut with `…`.
const COMMAND_WIDTH: usize = 20;

#[derive(Debug, clap::Subcommand)]
pub enum SystemCommand {
    /// Show docker disk usage
    Df(DfArgs),
    /// Remove unused data
    Prune(SystemPruneArgs),
}

#[derive(Debug, clap::Args)]
pub struct DfArgs {
    /// Show detailed information on space usage
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
}

#[derive(Debug, clap::Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Prune anonymous volumes
    #[arg(long = "volumes")]
    volumes: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_parser = parse_filter)]
    filter: Vec<(String, String)>,
    /// List what would be removed and the space it holds; remove nothing (strata)
    #[arg(long = "dry-run")]
    dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_parser = parse_filter)]
    filter: Vec<(String, String)>,
    /// List what would be removed and the space it holds; remove nothing (strata)
    #[arg(long = "dry-run")]
    dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct ContainerPruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_parser = parse_filter)]
    filter: Vec<(String, String)>,
    /// List what would be removed and the space it holds; remove nothing (strata)
    #[arg(long = "dry-run")]
    dry_run: bool,
}

fn parse_filter(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) => Ok((k.trim().to_lowercase(), v.to_owned())),
        None => Err("bad format of filter (expected name=value)".to_owned()),
    }
}

fn filters_json(pairs: &[(String, String)]) -> String {
    let mut map: BTreeMap<&str, BTreeMap<&str, bool>> = BTreeMap::new();
    for (k, v) in pairs {
        map.entry(k).or_default().insert(v, true);
    }
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned())
}

pub async fn run(client: &Client, command: SystemCommand) -> anyhow::Result<ExitCode> {
    match command {
        SystemCommand::Df(a) => df(client, a).await,
        SystemCommand::Prune(a) => system_prune(client, a).await,
    }
}

fn size(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn human(bytes: i64, digits: usize) -> String {
    human_size_with_precision(bytes as f64, digits)
}

/// `12.3MB (45%)` when there is a total, else just the size.
fn reclaimable(reclaim: i64, total: i64) -> String {
    if total > 0 {
        format!("{} ({}%)", human(reclaim, SIZE_DIGITS), reclaim * 100 / total)
    } else {
        human(reclaim, SIZE_DIGITS)
    }
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn ago(created: i64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    format!("{} ago", human_duration(Duration::from_secs((now - created).max(0) as u64)))
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// `docker system df`'s summary table from a `/system/df` answer.
pub fn summary_table(du: &Value) -> String {
    let images = array(&du["Images"]);
    let layers = size(&du["LayersSize"]);
    let used: i64 = images
        .iter()
        .filter(|i| size(&i["Containers"]) > 0 && size(&i["Size"]) != -1 && size(&i["SharedSize"]) != -1)
        .map(|i| size(&i["Size"]) - size(&i["SharedSize"]))
        .sum();
    let containers = array(&du["Containers"]);
    let rw: i64 = containers.iter().map(|c| size(&c["SizeRw"])).sum();
    let rw_idle: i64 = containers.iter().filter(|c| c["State"] != "running").map(|c| size(&c["SizeRw"])).sum();
    let volumes = array(&du["Volumes"]);
    let known = |v: &&Value| size(&v["UsageData"]["Size"]) != -1;
    let vol_size: i64 = volumes.iter().filter(known).map(|v| size(&v["UsageData"]["Size"])).sum();
    let vol_idle: i64 = volumes
        .iter()
        .filter(known)
        .filter(|v| size(&v["UsageData"]["RefCount"]) == 0)
        .map(|v| size(&v["UsageData"]["Size"]))
        .sum();
    let lines = vec![
        "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE".to_owned(),
        format!(
            "Images\t{}\t{}\t{}\t{}",
            images.len(),
            images.iter().filter(|i| size(&i["Containers"]) > 0).count(),
            human(layers, SIZE_DIGITS),
            reclaimable(layers - used, layers)
        ),
        format!(
            "Containers\t{}\t{}\t{}\t{}",
            containers.len(),
            containers.iter().filter(|c| c["State"] == "running").count(),
            human(rw, SIZE_DIGITS),
            reclaimable(rw_idle, rw)
        ),
        format!(
            "Local Volumes\t{}\t{}\t{}\t{}",
            volumes.len(),
            volumes.iter().filter(|v| size(&v["UsageData"]["RefCount"]) > 0).count(),
            human(vol_size, SIZE_DIGITS),
            reclaimable(vol_idle, vol_size)
        ),
        "Build Cache\t0\t0\t0B\t0B".to_owned(),
    ];
    align(&lines)
}

/// `docker system df -v`'s four tables.
pub fn verbose_tables(du: &Value) -> String {
    let mut out = String::from("Images space usage:\n\n");
    let mut lines = vec!["REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS".to_owned()];
    for i in array(&du["Images"]) {
        let tags: Vec<&str> = array(&i["RepoTags"]).iter().filter_map(Value::as_str).collect();
        let tags = if tags.is_empty() { vec!["<none>:<none>"] } else { tags };
        let (sz, shared) = (size(&i["Size"]), size(&i["SharedSize"]));
        for t in tags {
            let (repo, tag) = match t.rfind(':') {
                Some(p) if !t[p..].contains('/') => (&t[..p], &t[p + 1..]),
                _ => (t, "<none>"),
            };
            lines.push(format!(
                "{repo}\t{tag}\t{}\t{}\t{}\t{}\t{}\t{}",
                short_id(i["Id"].as_str().unwrap_or("")),
                ago(size(&i["Created"])),
                human(sz, COLUMN_DIGITS),
                if shared == -1 { "N/A".to_owned() } else { human(shared, SIZE_DIGITS) },
                if shared == -1 { "N/A".to_owned() } else { human(sz - shared, SIZE_DIGITS) },
                size(&i["Containers"]),
            ));
        }
    }
    out.push_str(&align(&lines));
    out.push_str("\nContainers space usage:\n\n");
    let mut lines = vec!["CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES".to_owned()];
    for c in array(&du["Containers"]) {
        let image = c["Image"].as_str().unwrap_or("");
        let image = if image.starts_with("sha256:") { short_id(image) } else { image.to_owned() };
        let command = c["Command"].as_str().unwrap_or("");
        let command = if command.chars().count() > COMMAND_WIDTH {
            format!("{}…", command.chars().take(COMMAND_WIDTH - 1).collect::<String>())
        } else {
            command.to_owned()
        };
        let names: Vec<&str> =
            array(&c["Names"]).iter().filter_map(Value::as_str).map(|n| n.trim_start_matches('/')).collect();
        lines.push(format!(
            "{}\t{image}\t{}\t{}\t{}\t{}\t{}\t{}",
            short_id(c["Id"].as_str().unwrap_or("")),
            serde_json::to_string(&command).unwrap_or_default(),
            array(&c["Mounts"]).iter().filter(|m| m["Type"] == "volume").count(),
            human(size(&c["SizeRw"]), COLUMN_DIGITS),
            ago(size(&c["Created"])),
            c["Status"].as_str().unwrap_or(""),
            names.join(","),
        ));
    }
    out.push_str(&align(&lines));
    out.push_str("\nLocal Volumes space usage:\n\n");
    let mut lines = vec!["VOLUME NAME\tLINKS\tSIZE".to_owned()];
    for v in array(&du["Volumes"]) {
        lines.push(format!(
            "{}\t{}\t{}",
            v["Name"].as_str().unwrap_or(""),
            size(&v["UsageData"]["RefCount"]),
            human(size(&v["UsageData"]["Size"]), SIZE_DIGITS)
        ));
    }
    out.push_str(&align(&lines));
    out.push_str("\nBuild cache usage: 0B\n\n");
    out.push_str(&align(&["CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED".to_owned()]));
    out
}

async fn df(client: &Client, a: DfArgs) -> anyhow::Result<ExitCode> {
    let du: Value = client.get_json("/system/df").await?;
    let text = if a.verbose { verbose_tables(&du) } else { summary_table(&du) };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Prints `warning` and asks; true when answered yes.
fn confirm(warning: &str) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    write!(out, "{warning}\nAre you sure you want to continue? [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y"))
}

/// One prune call's answer, printed Docker's way (or as a dry run), returning the space.
fn print_report(out: &mut String, report: &Value, what: &str, list_key: &str, dry_run: bool) -> u64 {
    let items = array(&report[list_key]);
    if !items.is_empty() {
        out.push_str(&if dry_run { format!("Would delete {what}:\n") } else { format!("Deleted {what}:\n") });
        for i in items {
            match i {
                Value::String(s) => out.push_str(s),
                other => {
                    if let Some(t) = other["Untagged"].as_str() {
                        out.push_str(&format!("untagged: {t}"));
                    } else if let Some(d) = other["Deleted"].as_str() {
                        out.push_str(&format!("deleted: {d}"));
                    }
                }
            }
            out.push('\n');
        }
        out.push('\n');
    }
    let skipped = array(&report["Skipped"]);
    if !skipped.is_empty() {
        out.push_str(&format!("Skipped {what}:\n"));
        for s in skipped {
            out.push_str(&format!("{}: {}\n", s["Id"].as_str().unwrap_or(""), s["Reason"].as_str().unwrap_or("")));
        }
        out.push('\n');
    }
    report["SpaceReclaimed"].as_u64().unwrap_or(0)
}

fn total_line(out: &mut String, space: u64, dry_run: bool) {
    let shown = human(space as i64, SIZE_DIGITS);
    if dry_run {
        out.push_str(&format!("Total reclaimable space: {shown} (dry run: nothing was removed)\n"));
    } else {
        out.push_str(&format!("Total reclaimed space: {shown}\n"));
    }
}

async fn call_prune(client: &Client, area: &str, filter: &[(String, String)], dry_run: bool) -> anyhow::Result<Value> {
    let mut path = format!("/{area}/prune?filters={}", encode(&filters_json(filter)));
    if dry_run {
        path.push_str("&dryrun=1");
    }
    Ok(strata_client::decode(client.request(Method::POST, &path, None, None).await?).await?)
}

/// `strata container prune`.
pub async fn container_prune(client: &Client, a: ContainerPruneArgs) -> anyhow::Result<ExitCode> {
    if !a.force && !a.dry_run && !confirm("WARNING! This will remove all stopped containers.")? {
        return Ok(ExitCode::SUCCESS);
    }
    let report = call_prune(client, "containers", &a.filter, a.dry_run).await?;
    let mut out = String::new();
    let space = print_report(&mut out, &report, "Containers", "ContainersDeleted", a.dry_run);
    total_line(&mut out, space, a.dry_run);
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn image_filter(all: bool, filter: &[(String, String)]) -> Vec<(String, String)> {
    let mut f = filter.to_vec();
    if all {
        f.push(("dangling".to_owned(), "false".to_owned()));
    }
    f
}

/// `strata image prune`.
pub async fn image_prune(client: &Client, a: ImagePruneArgs) -> anyhow::Result<ExitCode> {
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !a.force && !a.dry_run && !confirm(warning)? {
        return Ok(ExitCode::SUCCESS);
    }
    let report = call_prune(client, "images", &image_filter(a.all, &a.filter), a.dry_run).await?;
    let mut out = String::new();
    let space = print_report(&mut out, &report, "Images", "ImagesDeleted", a.dry_run);
    total_line(&mut out, space, a.dry_run);
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `docker system prune`'s warning for these options.
fn system_prune_warning(a: &SystemPruneArgs) -> String {
    let mut warning = String::from(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
    );
    if a.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    if a.all {
        warning.push_str("  - all images without at least one container associated to them\n  - all build cache\n");
    } else {
        warning.push_str("  - all dangling images\n  - unused build cache\n");
    }
    if !a.filter.is_empty() {
        warning.push_str("\n  Items to be pruned will be filtered with:\n");
        for (k, v) in &a.filter {
            warning.push_str(&format!("  - {k}={v}\n"));
        }
    }
    warning
}

/// `strata system prune`: stopped containers, unused networks, (with `--volumes`) unused
/// volumes, then images; one total. Like docker, refuses `until` with `--volumes` (volume prune
/// has no `until`).
async fn system_prune(client: &Client, a: SystemPruneArgs) -> anyhow::Result<ExitCode> {
    if a.volumes && a.filter.iter().any(|(k, _)| k == "until") {
        eprintln!("ERROR: The \"until\" filter is not supported with \"--volumes\"");
        return Ok(ExitCode::FAILURE);
    }
    if !a.force && !a.dry_run && !confirm(&system_prune_warning(&a))? {
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    let mut space = 0;
    let report = call_prune(client, "containers", &a.filter, a.dry_run).await?;
    space += print_report(&mut out, &report, "Containers", "ContainersDeleted", a.dry_run);
    if !a.dry_run {
        // Networks hold no data: nothing to report in a dry run.
        let report = call_prune(client, "networks", &a.filter, false).await?;
        print_report(&mut out, &report, "Networks", "NetworksDeleted", false);
    }
    if a.volumes {
        let report = call_prune(client, "volumes", &a.filter, a.dry_run).await?;
        space += print_report(&mut out, &report, "Volumes", "VolumesDeleted", a.dry_run);
    }
    let report = call_prune(client, "images", &image_filter(a.all, &a.filter), a.dry_run).await?;
    space += print_report(&mut out, &report, "Images", "ImagesDeleted", a.dry_run);
    total_line(&mut out, space, a.dry_run);
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_counts_like_the_docker_cli() {
        let du = json!({
            "LayersSize": 1_984_241,
            "Images": [{"Containers": 1, "Size": 1_984_241, "SharedSize": 0}],
            "Containers": [{"State": "exited", "SizeRw": 54_321}, {"State": "running"}],
            "Volumes": [
                {"UsageData": {"RefCount": 1, "Size": 102_352}},
                {"UsageData": {"RefCount": 0, "Size": 1000}},
                {"UsageData": {"RefCount": 0, "Size": -1}},
            ],
        });
        assert_eq!(
            summary_table(&du),
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n\
             Images          1         1         1.984MB   0B (0%)\n\
             Containers      2         1         54.32kB   54.32kB (100%)\n\
             Local Volumes   3         1         103.4kB   1kB (0%)\n\
             Build Cache     0         0         0B        0B\n"
        );
    }
}
