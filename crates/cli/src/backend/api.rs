//! The image backend over the Engine API (`berth-api-client`): what every image command
//! uses unless `--data-root` asks for the in-process store. Answers are turned into the
//! shapes of [`super`]; the daemon's 404/409/400 become `NotFound`/`Conflict`/`Invalid`
//! with its message. Archives stream both ways: the caller's reader feeds the request
//! body chunk by chunk while the request runs, and response bodies are written out as
//! they arrive.

use std::io::{Read, Write};

use berth_api_client::stream::{for_each_json, next_chunk};
use berth_api_client::{Body, Client};
use bytes::Bytes;
use serde_json::Value;

use super::{
    ArchiveFormat, DeleteItem, Error, HistoryItem, ImageBackend, ImageFilters, ImageSummary,
    ImagesDiskUsage, Loaded, PruneReport, Result,
};
use crate::commands::Api;

pub struct ApiBackend<'a> {
    api: &'a Api,
}

impl<'a> ApiBackend<'a> {
    pub fn new(api: &'a Api) -> ApiBackend<'a> {
        ApiBackend { api }
    }

    fn client(&self) -> &Client {
        &self.api.client
    }
}

fn classify(e: berth_api_client::Error) -> Error {
    let msg = e.to_string();
    match e.status() {
        Some(404) => Error::NotFound(msg),
        Some(409) => Error::Conflict(msg),
        Some(400) => Error::Invalid(msg),
        _ => Error::Other(msg),
    }
}

/// `repo[:tag]` → (`repo`, `tag`); a `:` inside a registry host is not a tag.
fn split_reference(r: &str) -> (String, Option<String>) {
    match r.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_owned(), Some(tag.to_owned())),
        _ => (r.to_owned(), None),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        // Old API versions name untagged images `<none>:<none>`.
        .filter(|s| !s.starts_with("<none>"))
        .map(str::to_owned)
        .collect()
}

/// A `GET /images/json` element.
pub fn summary(v: &Value) -> ImageSummary {
    ImageSummary {
        id: v["Id"].as_str().unwrap_or_default().to_owned(),
        parent_id: v["ParentId"].as_str().unwrap_or_default().to_owned(),
        repo_tags: strings(&v["RepoTags"]),
        repo_digests: strings(&v["RepoDigests"]),
        created: v["Created"].as_i64().unwrap_or(0),
        size: v["Size"].as_u64().unwrap_or(0),
        shared_size: v["SharedSize"].as_i64().unwrap_or(-1),
        labels: v["Labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        containers: v["Containers"].as_i64().unwrap_or(-1),
    }
}

fn filters_json(f: &ImageFilters) -> Option<String> {
    let mut m = serde_json::Map::new();
    if let Some(d) = f.dangling {
        m.insert("dangling".into(), serde_json::json!([d.to_string()]));
    }
    if !f.label.is_empty() {
        m.insert("label".into(), serde_json::json!(f.label));
    }
    if !f.reference.is_empty() {
        m.insert("reference".into(), serde_json::json!(f.reference));
    }
    (!m.is_empty()).then(|| Value::Object(m).to_string())
}

/// Reads `reader` into the channel body while `request` runs, on this thread.
async fn feed<T>(
    reader: &mut dyn Read,
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    request: impl std::future::Future<Output = T>,
) -> T {
    let feeder = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // A blocking read on the runtime's thread: the connection task runs between
            // sends, which is all the concurrency a CLI upload needs.
            let chunk = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => Ok(Bytes::copy_from_slice(&buf[..n])),
                Err(e) => Err(e),
            };
            let stop = chunk.is_err();
            if tx.send(chunk).await.is_err() || stop {
                break;
            }
        }
    };
    let (_, out) = tokio::join!(feeder, request);
    out
}

/// Collects the JSON lines of a streamed answer; an `error` line fails.
async fn json_lines(resp: http::Response<hyper::body::Incoming>) -> Result<Vec<Value>> {
    let mut body = resp.into_body();
    let mut out = Vec::new();
    let mut failure = None;
    for_each_json(&mut body, |v| {
        if let Some(e) = v.get("error").and_then(Value::as_str) {
            failure = Some(e.to_owned());
            return Ok(false);
        }
        out.push(v);
        Ok(true)
    })
    .await
    .map_err(classify)?;
    match failure {
        Some(e) => Err(Error::Other(e)),
        None => Ok(out),
    }
}

impl ImageBackend for ApiBackend<'_> {
    fn import(&self, archive: &mut dyn Read, reference: Option<&str>) -> Result<String> {
        let (repo, tag) = match reference {
            Some(r) => {
                let (repo, tag) = split_reference(r);
                (Some(repo), tag)
            }
            None => (None, None),
        };
        let (tx, body) = Body::channel();
        let lines = self.api.block(feed(archive, tx, async {
            let resp = self
                .client()
                .image_import(body, repo.as_deref(), tag.as_deref(), &[], None)
                .await
                .map_err(classify)?;
            json_lines(resp).await
        }))?;
        lines
            .iter()
            .rev()
            .find_map(|v| v["status"].as_str().filter(|s| s.starts_with("sha256:")))
            .map(str::to_owned)
            .ok_or_else(|| Error::Other("the daemon did not report the imported image".into()))
    }

    fn list(&self, all: bool, f: &ImageFilters) -> Result<Vec<ImageSummary>> {
        let filters = filters_json(f);
        let v = self
            .api
            .block(self.client().image_list(all, filters.as_deref()))
            .map_err(classify)?;
        Ok(v.iter().map(summary).collect())
    }

    fn inspect(&self, name: &str) -> Result<Value> {
        self.api
            .block(self.client().image_inspect(name))
            .map_err(classify)
    }

    fn history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let v = self
            .api
            .block(self.client().image_history(name))
            .map_err(classify)?;
        Ok(v.iter()
            .map(|h| HistoryItem {
                id: h["Id"].as_str().unwrap_or_default().to_owned(),
                created: h["Created"].as_i64().unwrap_or(0),
                created_by: h["CreatedBy"].as_str().unwrap_or_default().to_owned(),
                tags: strings(&h["Tags"]),
                size: h["Size"].as_u64().unwrap_or(0),
                comment: h["Comment"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    fn tag(&self, source: &str, target: &str) -> Result<()> {
        let (repo, tag) = split_reference(target);
        self.api
            .block(self.client().image_tag(source, &repo, tag.as_deref()))
            .map_err(classify)
    }

    fn remove(&self, name: &str, force: bool) -> Result<Vec<DeleteItem>> {
        let v = self
            .api
            .block(self.client().image_remove(name, force))
            .map_err(classify)?;
        Ok(delete_items(&v))
    }

    fn prune(&self, all: bool) -> Result<PruneReport> {
        let f = format!("{{\"dangling\":[\"{}\"]}}", !all);
        let v = self
            .api
            .block(self.client().image_prune(Some(&f)))
            .map_err(classify)?;
        Ok(PruneReport {
            deleted: delete_items(v["ImagesDeleted"].as_array().map_or(&[][..], |a| a)),
            space_reclaimed: v["SpaceReclaimed"].as_u64().unwrap_or(0),
        })
    }

    fn save(&self, names: &[String], _format: ArchiveFormat, out: &mut dyn Write) -> Result<()> {
        // The Engine API has one archive format (docker-archive, which since Docker 25 is
        // also an OCI layout); the format flag only matters to the local store.
        self.api.block(async {
            let resp = self.client().image_save(names).await.map_err(classify)?;
            let mut body = resp.into_body();
            while let Some(chunk) = next_chunk(&mut body).await.map_err(classify)? {
                out.write_all(&chunk)
                    .map_err(|e| Error::Other(format!("write archive: {e}")))?;
            }
            out.flush()
                .map_err(|e| Error::Other(format!("write archive: {e}")))
        })
    }

    fn load(&self, archive: &mut dyn Read) -> Result<Vec<Loaded>> {
        let (tx, body) = Body::channel();
        let lines = self.api.block(feed(archive, tx, async {
            let resp = self
                .client()
                .image_load(body, true)
                .await
                .map_err(classify)?;
            json_lines(resp).await
        }))?;
        let mut out = Vec::new();
        for v in &lines {
            let Some(text) = v["stream"].as_str() else {
                continue;
            };
            for l in text.lines() {
                if let Some(id) = l.strip_prefix("Loaded image ID: ") {
                    out.push(Loaded::Id(id.trim().to_owned()));
                } else if let Some(name) = l.strip_prefix("Loaded image: ") {
                    out.push(Loaded::Name(name.trim().to_owned()));
                }
            }
        }
        Ok(out)
    }

    fn disk_usage(&self) -> Result<ImagesDiskUsage> {
        let v = self
            .api
            .block(self.client().system_df())
            .map_err(classify)?;
        let images: Vec<ImageSummary> = v["Images"]
            .as_array()
            .into_iter()
            .flatten()
            .map(summary)
            .collect();
        let active = images.iter().filter(|i| i.containers > 0).count();
        let size = v["LayersSize"]
            .as_u64()
            .unwrap_or_else(|| images.iter().map(|i| i.size).sum());
        // What only unused images hold: their size minus what they share.
        let used: u64 = images
            .iter()
            .filter(|i| i.containers > 0)
            .map(|i| i.size.saturating_sub(i.shared_size.max(0) as u64))
            .sum();
        Ok(ImagesDiskUsage {
            total: images.len(),
            active,
            size,
            reclaimable: size.saturating_sub(used),
        })
    }
}

fn delete_items(v: &[Value]) -> Vec<DeleteItem> {
    v.iter()
        .filter_map(|i| {
            if let Some(u) = i["Untagged"].as_str() {
                Some(DeleteItem::Untagged(u.to_owned()))
            } else {
                i["Deleted"]
                    .as_str()
                    .map(|d| DeleteItem::Deleted(d.to_owned()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_drop_none_tags() {
        let v = serde_json::json!({"Id":"sha256:ab","RepoTags":["<none>:<none>"],"RepoDigests":null,"Created":5,"Size":10,"SharedSize":-1,"Labels":null,"Containers":-1});
        let s = summary(&v);
        assert!(s.repo_tags.is_empty());
        assert_eq!(s.size, 10);
        assert_eq!(
            split_reference("localhost:5000/x:1"),
            ("localhost:5000/x".into(), Some("1".into()))
        );
        assert_eq!(
            split_reference("localhost:5000/x"),
            ("localhost:5000/x".into(), None)
        );
        let f = ImageFilters {
            dangling: Some(true),
            label: vec![],
            reference: vec!["busy*".into()],
        };
        assert_eq!(
            filters_json(&f).unwrap(),
            r#"{"dangling":["true"],"reference":["busy*"]}"#
        );
    }
}
