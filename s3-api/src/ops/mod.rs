//! One module per family of S3 operations; `s3_impl.rs` routes the `S3` trait to them.

mod acl;
mod attributes;
mod bucket;
mod copy;
mod cors;
mod encryption;
mod lifecycle;
mod list;
pub(crate) mod multipart;
pub(crate) mod object;
pub(crate) mod object_lock;
mod policy;
mod tagging;
pub(crate) mod versioning;
