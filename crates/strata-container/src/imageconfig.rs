//! The parts of an image's `config` a container inherits, and Docker's rules for merging them
//! with the create request.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::spec::Config;

/// The run configuration an image carries (`config` of the image JSON).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageRunConfig {
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: String,
    pub user: String,
    pub volumes: Option<BTreeMap<String, Value>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Value>,
}

impl ImageRunConfig {
    /// Reads it from the image's `config` object; a malformed one counts as empty.
    pub fn from_value(v: Option<&Value>) -> ImageRunConfig {
        v.and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
    }

    /// The image's `VOLUME` paths.
    pub fn volume_paths(&self) -> Vec<String> {
        self.volumes.as_ref().map(|v| v.keys().cloned().collect()).unwrap_or_default()
    }
}

/// Applies Docker's create-time merge: the image's environment under the request's, its labels
/// under the request's, its entrypoint and command when the request has none (a request that sets
/// an entrypoint drops the image's command), its working directory, user and stop signal when the
/// request leaves them empty, and its volumes into `Config.Volumes`.
pub fn merge(config: &mut Config, image: &ImageRunConfig) {
    let mut env = image.env.clone().unwrap_or_default();
    for e in config.env.take().unwrap_or_default() {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k).to_owned();
        env.retain(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k) != key);
        env.push(e);
    }
    config.env = (!env.is_empty()).then_some(env);
    let entrypoint_given = config.entrypoint.is_some();
    if !entrypoint_given {
        config.entrypoint = image.entrypoint.clone();
    }
    if config.cmd.as_ref().is_none_or(Vec::is_empty) && !entrypoint_given {
        config.cmd = image.cmd.clone();
    }
    if config.working_dir.is_empty() {
        config.working_dir = image.working_dir.clone();
    }
    if config.user.is_empty() {
        config.user = image.user.clone();
    }
    if config.stop_signal.is_none() {
        config.stop_signal = image.stop_signal.clone();
    }
    merge_healthcheck(&mut config.healthcheck, image.healthcheck.as_ref());
    if let Some(labels) = &image.labels {
        let mine = config.labels.get_or_insert_with(BTreeMap::new);
        for (k, v) in labels {
            mine.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if let Some(volumes) = &image.volumes {
        let mine = config.volumes.get_or_insert_with(BTreeMap::new);
        for k in volumes.keys() {
            mine.entry(k.clone()).or_insert_with(|| Value::Object(Default::default()));
        }
    }
}

/// Docker's healthcheck merge: the image's when the request has none; else the request's, with
/// the image's test and timings filling what the request leaves empty or zero.
fn merge_healthcheck(mine: &mut Option<Value>, image: Option<&Value>) {
    let Some(image) = image.filter(|v| v.is_object()) else { return };
    match mine {
        None => *mine = Some(image.clone()),
        Some(Value::Object(m)) => {
            let empty_test = m.get("Test").and_then(Value::as_array).is_none_or(Vec::is_empty);
            if empty_test && let Some(t) = image.get("Test") {
                m.insert("Test".into(), t.clone());
            }
            for k in ["Interval", "Timeout", "StartPeriod", "Retries"] {
                let unset = m.get(k).and_then(Value::as_i64).unwrap_or(0) == 0;
                if unset && let Some(v) = image.get(k) {
                    m.insert(k.into(), v.clone());
                }
            }
        }
        Some(_) => {}
    }
}

/// What runs: entrypoint followed by command.
pub fn args_of(config: &Config) -> Vec<String> {
    let mut args = config.entrypoint.clone().unwrap_or_default();
    args.extend(config.cmd.clone().unwrap_or_default());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthchecks_merge_like_docker() {
        let image = serde_json::json!({"Test": ["CMD", "true"], "Interval": 5, "Retries": 2});
        let mut none = None;
        merge_healthcheck(&mut none, Some(&image));
        assert_eq!(none, Some(image.clone()));
        let mut mine = Some(serde_json::json!({"Test": [], "Interval": 0, "Retries": 7}));
        merge_healthcheck(&mut mine, Some(&image));
        assert_eq!(mine, Some(serde_json::json!({"Test": ["CMD", "true"], "Interval": 5, "Retries": 7})));
    }

    #[test]
    fn request_values_win_and_image_values_fill_in() {
        let image = ImageRunConfig {
            env: Some(vec!["PATH=/bin".into(), "A=1".into()]),
            cmd: Some(vec!["sh".into()]),
            working_dir: "/srv".into(),
            volumes: Some([("/data".to_owned(), Value::Object(Default::default()))].into()),
            ..Default::default()
        };
        let mut c = Config { env: Some(vec!["A=2".into()]), ..Default::default() };
        merge(&mut c, &image);
        assert_eq!(c.env, Some(vec!["PATH=/bin".into(), "A=2".into()]));
        assert_eq!(c.cmd, Some(vec!["sh".into()]));
        assert_eq!(c.working_dir, "/srv");
        assert!(c.volumes.expect("volumes").contains_key("/data"));
    }

    #[test]
    fn an_entrypoint_in_the_request_drops_the_image_command() {
        let image = ImageRunConfig { cmd: Some(vec!["sh".into()]), ..Default::default() };
        let mut c = Config { entrypoint: Some(vec!["echo".into()]), ..Default::default() };
        merge(&mut c, &image);
        assert_eq!(args_of(&c), vec!["echo".to_owned()]);
    }
}
