//! Printing rows as docker does: a default table, `--format table …`, `--format json`, or any
//! Go-style template per row.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::Value;

use crate::tabwriter;
use crate::template::{Method, Template};

/// How a listing command prints its rows.
pub struct Listing<'a> {
    /// The template used when `--format` is not given (e.g. `table {{.Driver}}\t{{.Name}}`).
    pub default_format: &'a str,
    /// Column titles for fields (`Name` → `VOLUME NAME`).
    pub headers: BTreeMap<&'a str, &'a str>,
    /// Methods rows have (`.Label "k"`).
    pub methods: BTreeMap<&'a str, Method>,
}

impl Listing<'_> {
    /// Prints `rows` with `format` (`None` = the default table; `json` = one JSON object per
    /// line; otherwise a template).
    pub fn print(&self, rows: &[Value], format: Option<&str>) -> anyhow::Result<()> {
        let format = format.unwrap_or(self.default_format);
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if format == "json" {
            for row in rows {
                writeln!(out, "{}", serde_json::to_string(row)?)?;
            }
            return Ok(());
        }
        let template = Template::parse(format)?;
        let mut lines = Vec::with_capacity(rows.len() + 1);
        if template.table {
            lines.push(template.header(&self.headers));
        }
        for row in rows {
            lines.push(template.render(row, &self.methods)?);
        }
        if template.table {
            out.write_all(tabwriter::align(&lines).as_bytes())?;
        } else {
            for line in lines {
                writeln!(out, "{line}")?;
            }
        }
        Ok(())
    }
}

/// Prints one object with a template, or as indented JSON (`docker … inspect` style).
pub fn print_object(value: &Value, format: Option<&str>) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        None => writeln!(out, "{}", serde_json::to_string_pretty(value)?)?,
        Some("json") => writeln!(out, "{}", serde_json::to_string(value)?)?,
        Some(f) => writeln!(out, "{}", Template::parse(f)?.render(value, &BTreeMap::new())?)?,
    }
    Ok(())
}

/// Prints the objects of an `inspect` command as docker does: a JSON array indented by four
/// spaces (`[]` when none was found), `json` as one compact array, or a template per object
/// (with `methods`, e.g. typed views of fields that are `null` on the wire).
pub fn print_inspect(values: &[Value], format: Option<&str>, methods: &BTreeMap<&str, Method>) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        None | Some("") => {
            let mut buf = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
            serde::Serialize::serialize(values, &mut ser)?;
            buf.push(b'\n');
            out.write_all(&buf)?;
        }
        Some("json") => writeln!(out, "{}", serde_json::to_string(values)?)?,
        Some(f) => {
            let template = Template::parse(f)?;
            for v in values {
                writeln!(out, "{}", template.render(v, methods)?)?;
            }
        }
    }
    Ok(())
}
