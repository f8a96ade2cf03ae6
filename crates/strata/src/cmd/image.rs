//! `strata image …` and the short forms (`images`, `rmi`, `tag`, `history`, `import`, `load`,
//! `save`): the docker CLI's image commands, with its output.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use serde_json::Value;
use strata_client::{Client, encode};

use crate::output::{Listing, print_object};
use crate::units::{human_duration, human_size};

/// Bytes per chunk of an upload.
const UPLOAD_CHUNK: usize = 1 << 20;

#[derive(Debug, clap::Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(alias = "list", name = "ls")]
    Ls(LsArgs),
    /// Display detailed information on one or more images
    Inspect(InspectArgs),
    /// Remove one or more images
    #[command(alias = "remove", name = "rm")]
    Rm(RmArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Remove unused images
    Prune(crate::cmd::system_df::ImagePruneArgs),
}

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long)]
    all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Repository to list ([REPOSITORY[:TAG]])
    repository: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    format: Option<String>,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Force removal of the image
    #[arg(short = 'f', long)]
    force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    no_prune: bool,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct TagArgs {
    source: String,
    target: String,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format (`-H` is the daemon address here)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    image: String,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long)]
    message: Option<String>,
    /// file or - for STDIN
    file: String,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long)]
    input: Option<String>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    output: Option<String>,
    #[arg(required = true)]
    images: Vec<String>,
}

/// Runs an image command.
pub async fn run(client: &Client, cmd: ImageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ImageCommand::Ls(a) => ls(client, a).await,
        ImageCommand::Inspect(a) => inspect(client, a).await,
        ImageCommand::Rm(a) => rm(client, a).await,
        ImageCommand::Tag(a) => tag(client, a).await,
        ImageCommand::History(a) => history(client, a).await,
        ImageCommand::Import(a) => import(client, a).await,
        ImageCommand::Load(a) => load(client, a).await,
        ImageCommand::Save(a) => save(client, a).await,
        ImageCommand::Prune(a) => crate::cmd::system_df::image_prune(client, a).await,
    }
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn ago(created: i64) -> String {
    let secs = (now_unix() - created).max(0) as u64;
    format!("{} ago", human_duration(Duration::from_secs(secs)))
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// `docker images --filter k=v` → the API's filters JSON.
fn filters_json(pairs: &[String], repository: Option<&str>) -> anyhow::Result<String> {
    let mut map: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value)"))?;
        map.entry(k.to_owned()).or_default().insert(v.to_owned(), true);
    }
    if let Some(r) = repository {
        map.entry("reference".into()).or_default().insert(r.to_owned(), true);
    }
    Ok(serde_json::to_string(&map)?)
}

fn split_repo_tag(t: &str) -> (String, String) {
    match t.rfind(':') {
        Some(i) if !t[i..].contains('/') => (t[..i].to_owned(), t[i + 1..].to_owned()),
        _ => (t.to_owned(), "<none>".to_owned()),
    }
}

async fn ls(client: &Client, a: LsArgs) -> anyhow::Result<ExitCode> {
    let mut path = String::from("/images/json");
    let mut q = Vec::new();
    if a.all {
        q.push("all=1".to_owned());
    }
    if !a.filter.is_empty() || a.repository.is_some() {
        q.push(format!("filters={}", encode(&filters_json(&a.filter, a.repository.as_deref())?)));
    }
    if !q.is_empty() {
        path = format!("{path}?{}", q.join("&"));
    }
    let images: Vec<Value> = client.get_json(&path).await?;
    let mut rows = Vec::new();
    for img in &images {
        let id = img["Id"].as_str().unwrap_or("");
        let shown_id = if a.no_trunc { id.to_owned() } else { short_id(id) };
        let created = img["Created"].as_i64().unwrap_or(0);
        let size = human_size(img["Size"].as_f64().unwrap_or(0.0));
        let tags: Vec<String> = img["RepoTags"]
            .as_array()
            .map(|t| t.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let tags = if tags.is_empty() { vec!["<none>:<none>".to_owned()] } else { tags };
        for t in tags {
            let (repo, tag) = split_repo_tag(&t);
            rows.push(serde_json::json!({
                "Repository": repo, "Tag": tag, "ID": shown_id, "CreatedSince": ago(created),
                "CreatedAt": humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(created.max(0) as u64)).to_string(),
                "Size": size, "Digest": "<none>", "Containers": "N/A", "SharedSize": "N/A", "UniqueSize": "N/A", "VirtualSize": size,
            }));
        }
    }
    if a.quiet {
        let mut seen = std::collections::BTreeSet::new();
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for r in &rows {
            let id = r["ID"].as_str().unwrap_or("");
            if seen.insert(id.to_owned()) {
                writeln!(out, "{id}")?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let default = if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let listing = Listing {
        default_format: default,
        headers: BTreeMap::from([
            ("Repository", "REPOSITORY"),
            ("Tag", "TAG"),
            ("ID", "IMAGE ID"),
            ("CreatedSince", "CREATED"),
            ("CreatedAt", "CREATED AT"),
            ("Size", "SIZE"),
            ("Digest", "DIGEST"),
        ]),
        methods: BTreeMap::new(),
    };
    listing.print(&rows, a.format.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

async fn inspect(client: &Client, a: InspectArgs) -> anyhow::Result<ExitCode> {
    let mut found = Vec::new();
    let mut failed = None;
    for name in &a.images {
        match client.get_json::<Value>(&format!("/images/{}/json", encode(name))).await {
            Ok(v) => found.push(v),
            Err(e) => failed = Some(e),
        }
    }
    match a.format.as_deref() {
        Some(f) => {
            for v in &found {
                print_object(v, Some(f))?;
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&Value::from(found))?),
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

async fn rm(client: &Client, a: RmArgs) -> anyhow::Result<ExitCode> {
    let mut code = ExitCode::SUCCESS;
    for name in &a.images {
        let mut q = Vec::new();
        if a.force {
            q.push("force=1");
        }
        if a.no_prune {
            q.push("noprune=1");
        }
        let path = format!("/images/{}{}{}", encode(name), if q.is_empty() { "" } else { "?" }, q.join("&"));
        match client.request(Method::DELETE, &path, None, None).await {
            Ok(resp) => {
                let items: Vec<Value> = strata_client::decode(resp).await?;
                for i in items {
                    if let Some(u) = i["Untagged"].as_str() {
                        println!("Untagged: {u}");
                    }
                    if let Some(d) = i["Deleted"].as_str() {
                        println!("Deleted: {d}");
                    }
                }
            }
            Err(e) => {
                eprintln!("{e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}

async fn tag(client: &Client, a: TagArgs) -> anyhow::Result<ExitCode> {
    let (repo, tag) = match a.target.rfind(':') {
        Some(i) if !a.target[i..].contains('/') => (&a.target[..i], &a.target[i + 1..]),
        _ => (a.target.as_str(), ""),
    };
    let path = format!("/images/{}/tag?repo={}&tag={}", encode(&a.source), encode(repo), encode(tag));
    client.send_empty(Method::POST, &path).await?;
    Ok(ExitCode::SUCCESS)
}

async fn history(client: &Client, a: HistoryArgs) -> anyhow::Result<ExitCode> {
    let items: Vec<Value> = client.get_json(&format!("/images/{}/history", encode(&a.image))).await?;
    let rows: Vec<Value> = items
        .iter()
        .map(|h| {
            let id = h["Id"].as_str().unwrap_or("");
            let shown = if id == "<missing>" || a.no_trunc { id.to_owned() } else { short_id(id) };
            let created = h["Created"].as_i64().unwrap_or(0);
            let mut by = h["CreatedBy"].as_str().unwrap_or("").replace('\t', " ");
            if !a.no_trunc && by.chars().count() > 45 {
                by = format!("{}…", by.chars().take(44).collect::<String>());
            }
            let size = h["Size"].as_f64().unwrap_or(0.0);
            serde_json::json!({
                "ID": shown,
                "CreatedSince": if a.human { ago(created) } else { created.to_string() },
                "CreatedBy": by,
                "Size": if a.human { human_size(size) } else { (size as u64).to_string() },
                "Comment": h["Comment"].as_str().unwrap_or(""),
            })
        })
        .collect();
    if a.quiet {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or(""));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let listing = Listing {
        default_format: "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
        headers: BTreeMap::from([
            ("ID", "IMAGE"),
            ("CreatedSince", "CREATED"),
            ("CreatedBy", "CREATED BY"),
            ("Size", "SIZE"),
            ("Comment", "COMMENT"),
        ]),
        methods: BTreeMap::new(),
    };
    listing.print(&rows, a.format.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// A request body streamed from a file or stdin.
pub(crate) async fn upload(source: &str) -> anyhow::Result<strata_client::Body> {
    use tokio::io::AsyncReadExt;
    // Standard input is opened as a file: the CLI's runtime has no async stdin, and a file
    // handle streams a pipe just as well.
    let path = if source == "-" { "/dev/stdin" } else { source };
    let reader = tokio::fs::File::open(path).await.map_err(|e| anyhow::anyhow!("open {source}: {e}"))?;
    let stream = futures_util::stream::unfold(reader, |mut r| async move {
        let mut buf = vec![0u8; UPLOAD_CHUNK];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(hyper::body::Frame::data(Bytes::from(buf))), r))
            }
            Err(e) => Some((Err(e), r)),
        }
    });
    Ok(http_body_util::StreamBody::new(stream).boxed_unsync())
}

/// Prints a JSON message stream (load/import); an `error` in it fails the command.
async fn print_stream(resp: http::Response<hyper::body::Incoming>, key: &str) -> anyhow::Result<ExitCode> {
    let bytes = resp.into_body().collect().await.map_err(|e| anyhow::anyhow!("{e}"))?.to_bytes();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line)?;
        if let Some(err) = v["error"].as_str() {
            anyhow::bail!("{err}");
        }
        if let Some(s) = v[key].as_str() {
            print!("{s}");
            if key == "status" {
                println!();
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(client: &Client, a: ImportArgs) -> anyhow::Result<ExitCode> {
    let mut q = vec!["fromSrc=-".to_owned()];
    if let Some(r) = &a.reference {
        q.push(format!("repo={}", encode(r)));
    }
    for c in &a.change {
        q.push(format!("changes={}", encode(c)));
    }
    if let Some(m) = &a.message {
        q.push(format!("message={}", encode(m)));
    }
    let body = upload(&a.file).await?;
    let resp = client
        .request(Method::POST, &format!("/images/create?{}", q.join("&")), Some("text/plain"), Some(body))
        .await?;
    print_stream(resp, "status").await
}

async fn load(client: &Client, a: LoadArgs) -> anyhow::Result<ExitCode> {
    let source = a.input.as_deref().unwrap_or("-");
    if source == "-" && std::io::stdin().is_terminal() {
        anyhow::bail!("requested load from stdin, but stdin is empty");
    }
    let quiet = a.quiet || !std::io::stdout().is_terminal();
    let body = upload(source).await?;
    let path = format!("/images/load?quiet={}", if quiet { 1 } else { 0 });
    let resp = client.request(Method::POST, &path, Some("application/x-tar"), Some(body)).await?;
    print_stream(resp, "stream").await
}

async fn save(client: &Client, a: SaveArgs) -> anyhow::Result<ExitCode> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
    let names: Vec<String> = a.images.iter().map(|n| format!("names={}", encode(n))).collect();
    let resp = client.request(Method::GET, &format!("/images/get?{}", names.join("&")), None, None).await?;
    let mut out: Box<dyn Write> = match &a.output {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|e| anyhow::anyhow!("failed to save image: {e}"))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(data) = frame.data_ref() {
            out.write_all(data)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
