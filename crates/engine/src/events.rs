//! The event stream of `GET /events`: every lifecycle change as Docker reports it, kept in
//! a bounded ring for `since` and broadcast to followers.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::broadcast;

/// How many past events `since` can reach back to.
const KEPT: usize = 1024;

#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: HashMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// The old-style fields docker still prints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: &'static str,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i128,
}

#[derive(Debug)]
pub struct Events {
    ring: Mutex<VecDeque<Event>>,
    tx: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Events {
        Events {
            ring: Mutex::new(VecDeque::with_capacity(KEPT)),
            tx: broadcast::channel(256).0,
        }
    }
}

impl Events {
    /// Records a container event; `attributes` gets `name` and `image` from the caller.
    pub fn container(&self, action: &str, id: &str, image: &str, mut attributes: HashMap<String, String>) {
        attributes.insert("image".into(), image.to_owned());
        self.publish(Event {
            status: Some(action.to_owned()),
            id: Some(id.to_owned()),
            from: Some(image.to_owned()),
            kind: "container".into(),
            action: action.to_owned(),
            actor: Actor { id: id.to_owned(), attributes },
            scope: "local",
            time: 0,
            time_nano: 0,
        });
    }

    pub fn image(&self, action: &str, id: &str, name: &str) {
        let mut attributes = HashMap::new();
        attributes.insert("name".to_owned(), name.to_owned());
        self.publish(Event {
            status: Some(action.to_owned()),
            id: Some(id.to_owned()),
            from: None,
            kind: "image".into(),
            action: action.to_owned(),
            actor: Actor { id: id.to_owned(), attributes },
            scope: "local",
            time: 0,
            time_nano: 0,
        });
    }

    /// Records a volume event (`create`, `destroy`, `mount`, `unmount`); Docker's actor
    /// is the volume's name with its driver (and, for mounts, the container).
    pub fn volume(&self, action: &str, name: &str, driver: &str, mut attributes: HashMap<String, String>) {
        attributes.insert("driver".to_owned(), driver.to_owned());
        self.publish(Event {
            status: None,
            id: None,
            from: None,
            kind: "volume".into(),
            action: action.to_owned(),
            actor: Actor { id: name.to_owned(), attributes },
            scope: "local",
            time: 0,
            time_nano: 0,
        });
    }

    /// Records a network event (`create`, `destroy`, `connect`, `disconnect`); the actor
    /// is the network's id, with its name, type, and the container for (dis)connects.
    pub fn network(&self, action: &str, id: &str, name: &str, container: &str) {
        let mut attributes = HashMap::from([("name".to_owned(), name.to_owned()), ("type".to_owned(), "bridge".to_owned())]);
        if !container.is_empty() {
            attributes.insert("container".to_owned(), container.to_owned());
        }
        self.publish(Event {
            status: None,
            id: None,
            from: None,
            kind: "network".into(),
            action: action.to_owned(),
            actor: Actor { id: id.to_owned(), attributes },
            scope: "local",
            time: 0,
            time_nano: 0,
        });
    }

    fn publish(&self, mut e: Event) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        e.time = now.as_secs() as i64;
        e.time_nano = now.as_nanos() as i128;
        let mut ring = self.ring.lock().expect("events lock");
        if ring.len() == KEPT {
            ring.pop_front();
        }
        ring.push_back(e.clone());
        drop(ring);
        let _ = self.tx.send(e);
    }

    /// Past events from `since_nano` on, and a receiver for those after them (subscribed
    /// under the same lock, so none falls between).
    pub fn since(&self, since_nano: i128) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let ring = self.ring.lock().expect("events lock");
        let rx = self.tx.subscribe();
        let past = ring.iter().filter(|e| e.time_nano >= since_nano).cloned().collect();
        (past, rx)
    }
}

/// `filters` of `/events`: every key given must match one of its values.
pub fn matches(e: &Event, filters: &HashMap<String, Vec<String>>) -> bool {
    filters.iter().all(|(key, values)| {
        let attr = |k: &str| e.actor.attributes.get(k).cloned().unwrap_or_default();
        values.iter().any(|v| match key.as_str() {
            "type" => e.kind == *v,
            "event" | "action" => e.action == *v || e.action.split(':').next() == Some(v),
            "container" => e.kind == "container" && (e.actor.id.starts_with(v.as_str()) || attr("name") == *v),
            "image" => attr("image") == *v || (e.kind == "image" && (e.actor.id == *v || attr("name") == *v)),
            "label" => match v.split_once('=') {
                Some((k, val)) => attr(k) == val,
                None => e.actor.attributes.contains_key(v),
            },
            _ => true,
        })
    })
}
