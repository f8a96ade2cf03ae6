//! The subset of Go templates that `docker … --format` users rely on.
//!
//! Supported: text with `{{ … }}` actions; field paths (`.`, `.Name`, `.GraphDriver.Data`);
//! functions `json`, `join LIST SEP`, `upper`, `lower`, `title`, `println`; and methods a command
//! provides on its rows (`.Label "com.example"`), given as closures. Values print as Go's `fmt`
//! prints them (`map[k:v]`, `[a b]`, `<no value>` for a missing key), so `docker inspect
//! --format '{{.GraphDriver.Data}}'` reads the same from strata as from docker. `{{range}}` and
//! `{{if}}` are refused with a clear error rather than misrendered.

use std::collections::BTreeMap;

use serde_json::Value;

/// A method of a row: `.Label "k"` calls `methods["Label"](&row, ["k"])`.
pub type Method = fn(&Value, &[String]) -> Value;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
    /// `table …` templates print a header row.
    pub table: bool,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Vec<Arg>),
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Field(Vec<String>),
    Word(String),
    Str(String),
}

/// A template that cannot be parsed or run.
#[derive(Debug)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template parsing error: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

impl Template {
    /// Parses `text`. A leading `table` keyword marks a table template; `\t` and `\n` escapes
    /// written literally on the command line are turned into tabs and newlines, as docker does.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let (table, body) = match text.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => (true, rest.trim_start()),
            _ => (false, text),
        };
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        let mut nodes = Vec::new();
        let mut rest = body.as_str();
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                nodes.push(Node::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| TemplateError("unclosed action".into()))?;
            let inner = after[..end].trim().trim_start_matches('-').trim_end_matches('-').trim();
            nodes.push(Node::Action(parse_action(inner)?));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            nodes.push(Node::Text(rest.to_owned()));
        }
        Ok(Template { nodes, table })
    }

    /// Renders the template for one row.
    pub fn render(&self, row: &Value, methods: &BTreeMap<&str, Method>) -> Result<String, TemplateError> {
        let mut out = String::new();
        for node in &self.nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action(args) => out.push_str(&to_text(&eval(args, row, methods)?)),
            }
        }
        Ok(out)
    }

    /// The header row of a table template: each action's first field replaced by the column
    /// title `headers` gives for it (the field name upper-cased when absent).
    pub fn header(&self, headers: &BTreeMap<&str, &str>) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action(args) => {
                    let name = args.iter().find_map(|a| match a {
                        Arg::Field(path) => path.last().cloned(),
                        _ => None,
                    });
                    let name = name.unwrap_or_default();
                    // `.Label "com.example.some-key"` is headed by the label's last part, as
                    // docker heads it ("some key").
                    let label_key = args.iter().find_map(|a| match a {
                        Arg::Str(s) if name == "Label" => Some(s.clone()),
                        _ => None,
                    });
                    if let Some(key) = label_key {
                        let last = key.rsplit('.').next().unwrap_or(&key);
                        out.push_str(&last.replace(['-', '_'], " "));
                        continue;
                    }
                    match headers.get(name.as_str()) {
                        Some(h) => out.push_str(h),
                        None => out.push_str(&name.to_uppercase()),
                    }
                }
            }
        }
        out
    }
}

fn parse_action(inner: &str) -> Result<Vec<Arg>, TemplateError> {
    let first = inner.split_whitespace().next().unwrap_or("");
    if matches!(first, "range" | "if" | "with" | "end" | "else" | "define" | "template" | "block") {
        return Err(TemplateError(format!("{{{{{first}}}}} is not supported by strata's --format")));
    }
    let mut args = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err(TemplateError(format!("unterminated string in {inner:?}"))),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('t') => s.push('\t'),
                        Some('n') => s.push('\n'),
                        Some(other) => s.push(other),
                        None => return Err(TemplateError(format!("unterminated string in {inner:?}"))),
                    },
                    Some(other) => s.push(other),
                }
            }
            args.push(Arg::Str(s));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
            if word.starts_with('.') {
                let path = word.split('.').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                args.push(Arg::Field(path));
            } else {
                args.push(Arg::Word(word));
            }
        }
    }
    if args.is_empty() {
        return Err(TemplateError("empty action".into()));
    }
    Ok(args)
}

fn eval(args: &[Arg], row: &Value, methods: &BTreeMap<&str, Method>) -> Result<Value, TemplateError> {
    let value_of = |a: &Arg| -> Result<Value, TemplateError> {
        match a {
            Arg::Field(path) => Ok(lookup(row, path)),
            Arg::Str(s) => Ok(Value::String(s.clone())),
            Arg::Word(w) => Err(TemplateError(format!("function {w:?} used as a value"))),
        }
    };
    match &args[0] {
        Arg::Field(path) if path.len() == 1 && methods.contains_key(path[0].as_str()) => {
            let strings: Vec<String> =
                args[1..].iter().map(|a| value_of(a).map(|v| to_text(&v))).collect::<Result<_, _>>()?;
            Ok(methods[path[0].as_str()](row, &strings))
        }
        Arg::Field(_) | Arg::Str(_) if args.len() == 1 => value_of(&args[0]),
        Arg::Word(func) => {
            let vals: Vec<Value> = args[1..].iter().map(value_of).collect::<Result<_, _>>()?;
            match (func.as_str(), vals.as_slice()) {
                ("json", [v]) => Ok(Value::String(serde_json::to_string(v).unwrap_or_default())),
                ("upper", [v]) => Ok(Value::String(to_text(v).to_uppercase())),
                ("lower", [v]) => Ok(Value::String(to_text(v).to_lowercase())),
                ("title", [v]) => {
                    let t = to_text(v);
                    let mut c = t.chars();
                    Ok(Value::String(c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()))
                }
                ("println", vs) => Ok(Value::String(vs.iter().map(to_text).collect::<Vec<_>>().join(" ") + "\n")),
                ("join", [Value::Array(items), sep]) => {
                    Ok(Value::String(items.iter().map(to_text).collect::<Vec<_>>().join(&to_text(sep))))
                }
                ("join", [Value::Null, _]) => Ok(Value::String(String::new())),
                _ => Err(TemplateError(format!("function {func:?} is not defined or got the wrong arguments"))),
            }
        }
        _ => Err(TemplateError("can't give argument to non-function".into())),
    }
}

fn lookup(row: &Value, path: &[String]) -> Value {
    let mut v = row;
    for key in path {
        match v.get(key) {
            Some(next) => v = next,
            None => return Value::String("<no value>".into()),
        }
    }
    v.clone()
}

/// Go's `fmt.Print` of a decoded JSON value.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(to_text).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => {
            let sorted: BTreeMap<_, _> = map.iter().collect();
            format!("map[{}]", sorted.iter().map(|(k, v)| format!("{k}:{}", to_text(v))).collect::<Vec<_>>().join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(t: &str, row: Value) -> String {
        Template::parse(t).expect("parse").render(&row, &BTreeMap::new()).expect("render")
    }

    #[test]
    fn fields_and_go_formatting() {
        let row = json!({"Name":"pgdata","GraphDriver":{"Data":{"UpperDir":"/u","LowerDir":"/l"}},"Labels":null,"N":3});
        assert_eq!(render("{{.Name}}", row.clone()), "pgdata");
        assert_eq!(render("{{.GraphDriver.Data}}", row.clone()), "map[LowerDir:/l UpperDir:/u]");
        assert_eq!(render("{{.Missing}}", row.clone()), "<no value>");
        assert_eq!(render("{{json .Labels}}", row.clone()), "null");
        assert_eq!(render("n={{.N}}\\t{{upper .Name}}", row), "n=3\tPGDATA");
    }

    #[test]
    fn methods_take_string_arguments() {
        let mut methods: BTreeMap<&str, Method> = BTreeMap::new();
        methods.insert("Label", |row, args| row["Labels"][&args[0]].clone());
        let t = Template::parse("{{.Label \"env\"}}").expect("parse");
        assert_eq!(t.render(&json!({"Labels":{"env":"prod"}}), &methods).expect("render"), "prod");
    }

    #[test]
    fn table_templates_have_headers() {
        let t = Template::parse("table {{.Driver}}\\t{{.Name}}").expect("parse");
        assert!(t.table);
        let headers = BTreeMap::from([("Name", "VOLUME NAME")]);
        assert_eq!(t.header(&headers), "DRIVER\tVOLUME NAME");
    }

    #[test]
    fn unsupported_actions_are_refused() {
        assert!(Template::parse("{{range .X}}{{end}}").is_err());
        assert!(Template::parse("{{.Name").is_err());
    }
}
