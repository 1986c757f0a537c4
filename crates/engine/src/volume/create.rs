//! Creating volumes: `POST /volumes/create` and the anonymous volumes a container
//! gets. The name is checked before anything touches the disk, so no name can place a
//! volume outside `<data-root>/volumes`.

use std::collections::BTreeMap;

use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::volume::{mount, validate_name, Volume, ANONYMOUS_LABEL};

/// Creates volume `name` (a random 64-hex one when `None`: anonymous, labelled as Docker
/// does), or returns the existing volume of that name.
pub fn create(
    d: &Daemon,
    name: Option<&str>,
    driver: Option<&str>,
    options: BTreeMap<String, String>,
    mut labels: BTreeMap<String, String>,
) -> Result<Volume> {
    let driver = driver.filter(|s| !s.is_empty()).unwrap_or("local");
    if driver != "local" {
        return Err(Error::NotFound(format!("plugin \"{driver}\" not found")));
    }
    let name = match name.filter(|n| !n.is_empty()) {
        Some(n) => {
            validate_name(n)?;
            n.to_owned()
        }
        None => {
            labels.insert(ANONYMOUS_LABEL.to_owned(), String::new());
            crate::container::new_id()
        }
    };
    mount::validate(&options)?;
    let v = Volume { name, driver: driver.to_owned(), labels, options, created: crate::clock::now_rfc3339() };
    let (v, new) = d.volumes.insert_new(v)?;
    if new {
        d.events.volume("create", &v.name, "local", Default::default());
    }
    Ok(v)
}
