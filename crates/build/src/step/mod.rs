//! One module per kind of step: [`meta`] (config only), [`run`] (a container on the
//! runtime), [`copy`] (COPY and ADD), and [`root`], the mounted root a step works in.

pub mod copy;
pub mod download;
pub mod meta;
pub mod root;
pub mod run;
