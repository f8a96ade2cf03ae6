//! Container events for `GET /events`: what happened to which container, broadcast to the
//! clients listening now (compose's `up` and `events`, `docker events`). Live only: there is no
//! history to replay for `since`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use tokio::sync::broadcast;

use crate::record::Container;
use crate::service::Containers;

/// How many events a slow listener may fall behind before it misses some.
const CAPACITY: usize = 1024;

/// One container event (Docker's `Type: container`).
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerEvent {
    /// `create`, `start`, `kill`, `die`, `stop`, `destroy`, `health_status: healthy`, …
    pub action: String,
    pub id: String,
    /// What the container was created from, as given (Docker's `from` / `image` attribute).
    pub image: String,
    pub name: String,
    /// The container's labels, then the action's own attributes (`exitCode`, `signal`).
    pub attributes: BTreeMap<String, String>,
    pub time: SystemTime,
}

/// The broadcast of container events.
#[derive(Debug)]
pub struct EventBus {
    tx: broadcast::Sender<ContainerEvent>,
}

impl Default for EventBus {
    fn default() -> EventBus {
        EventBus { tx: broadcast::channel(CAPACITY).0 }
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<ContainerEvent> {
        self.tx.subscribe()
    }
}

impl Containers {
    /// Listens to container events from now on.
    pub fn subscribe_events(&self) -> broadcast::Receiver<ContainerEvent> {
        self.events().subscribe()
    }

    /// Publishes an event about `c` (nobody listening is fine).
    pub(crate) fn emit(&self, c: &Container, action: &str, extra: &[(&str, String)]) {
        let mut attributes = c.config.labels.clone().unwrap_or_default();
        attributes.insert("image".into(), c.config.image.clone());
        attributes.insert("name".into(), c.name.clone());
        for (k, v) in extra {
            attributes.insert((*k).to_owned(), v.clone());
        }
        let _ = self.events().tx.send(ContainerEvent {
            action: action.to_owned(),
            id: c.id.clone(),
            image: c.config.image.clone(),
            name: c.name.clone(),
            attributes,
            time: SystemTime::now(),
        });
    }

    /// Publishes an event about the container `id`, if it still exists.
    pub(crate) fn emit_for(&self, id: &str, action: &str, extra: &[(&str, String)]) {
        if let Ok(c) = self.get(id) {
            self.emit(&c, action, extra);
        }
    }
}
