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

/// Re-indents raw JSON as Go's `json.Indent` does (the bytes, escapes and key order of the
/// daemon's answer are kept; only whitespace between tokens changes).
pub fn indent_json(raw: &[u8], prefix: &str, indent: &str) -> String {
    let mut out = String::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut need_newline = false;
    let text = String::from_utf8_lossy(raw);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(prefix);
        for _ in 0..depth {
            out.push_str(indent);
        }
    };
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if need_newline && c != ']' && c != '}' {
            need_newline = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                need_newline = true;
            }
            '}' | ']' => {
                if need_newline {
                    // An empty object or array stays `{}` / `[]`.
                    need_newline = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    out
}

/// Prints raw objects as `docker inspect` does: a JSON array of the daemon's answers indented
/// by four spaces in the daemon's field order, `[]` when none was found, or a template (or
/// `json`) per object.
pub fn print_inspect_raw(raws: &[bytes::Bytes], format: Option<&str>) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        None | Some("") => {
            if raws.is_empty() {
                writeln!(out, "[]")?;
                return Ok(());
            }
            let items: Vec<String> = raws.iter().map(|r| indent_json(r, "    ", "    ")).collect();
            writeln!(out, "[\n    {}\n]", items.join(",\n    "))?;
        }
        Some(f) => {
            let values = raws.iter().map(|r| serde_json::from_slice::<Value>(r)).collect::<Result<Vec<_>, _>>()?;
            if f == "json" {
                writeln!(out, "{}", serde_json::to_string(&values)?)?;
            } else {
                let template = Template::parse(f)?;
                for v in &values {
                    writeln!(out, "{}", template.render(v, &BTreeMap::new())?)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::indent_json;

    #[test]
    fn indenting_keeps_order_escapes_and_empty_containers() {
        let raw = br#"{"Z":1,"A":[],"M":{},"S":"a,b:{\"x\"}\u003c","L":[1,{"k":null}]}"#;
        let want = "{\n    \"Z\": 1,\n    \"A\": [],\n    \"M\": {},\n    \"S\": \"a,b:{\\\"x\\\"}\\u003c\",\n    \"L\": [\n        1,\n        {\n            \"k\": null\n        }\n    ]\n}";
        assert_eq!(indent_json(raw, "", "    "), want);
    }
}
