//! Lagoa's S3 protocol layer: an `s3s::S3` implementation over `lagoa-store`, identities and
//! authentication, and the per-request front door ([`S3Frontend`]). The binary owns listeners,
//! health and shutdown; S3 Select is answered through the [`SelectPort`] it plugs in.
//!
//! It owns the mapping from store errors to S3 errors and every S3-visible rule (conditions,
//! ranges, checksums, listing encodings). It never touches the volume directly: all data goes
//! through `lagoa-store`.

mod access;
mod acl_request;
pub mod admin;
mod body;
mod body_guard;
mod checksum;
mod conditions;
mod cors;
mod encryption;
mod errors;
mod frontend;
mod identity;
mod lagoa;
mod multipart_checksum;
mod ops;
mod post_form;
mod post_form_head;
mod precheck;
mod request_log;
mod s3_impl;
mod select;
pub mod signed_route;
mod unsupported;
mod version_order;
mod vhost;
mod wait_deadline;

pub use access::{AccessGate, Authorizer, Forwarded, OnBehalf, PeerAddr};
pub use encryption::customer_key_of;
pub use errors::custom as custom_error;
pub use frontend::{FrontendConfig, FrontendError, Response, S3Frontend, starting_response};
pub use identity::{DEFAULT_ROOT, IAM_DOCUMENT, Identities, IdentityError};
pub use lagoa::Lagoa;
pub use select::{SelectCall, SelectPort};
pub use wait_deadline::WaitDeadline;
