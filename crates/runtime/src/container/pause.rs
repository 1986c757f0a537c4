//! `pause`/`resume`: freeze and thaw the container's cgroup.

use crate::container::Container;
use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};

fn cgroup(c: &Container) -> Result<&berth_cgroups::Cgroup> {
    c.state.cgroup.as_ref().ok_or_else(|| Error::State { id: c.state.id.clone(), msg: "container has no cgroup".into() })
}

pub fn pause(root: &StateRoot, id: &str) -> Result<()> {
    let c = Container::load(root, id)?;
    c.require(&[Status::Running, Status::Created], "only a running container can be paused")?;
    Ok(cgroup(&c)?.freeze()?)
}

pub fn resume(root: &StateRoot, id: &str) -> Result<()> {
    let c = Container::load(root, id)?;
    c.require(&[Status::Paused], "only a paused container can be resumed")?;
    Ok(cgroup(&c)?.thaw()?)
}
