//! What the edge hands on, decided without the runtime: the queue messages ([`message`]),
//! the signed origin request ([`origin`]), the KV keys ([`kv`]), the dead letter's record
//! ([`dead_letter`]), the answers ([`answer`]) and the one log line per delivery
//! ([`log_line`]).

pub mod answer;
pub mod dead_letter;
pub mod kv;
pub mod log_line;
pub mod message;
pub mod origin;

pub use answer::{Answer, Outcome};
pub use dead_letter::{DeadLetter, LAST_ERROR_LIMIT};
pub use kv::{kv_key, KV_KEY_LIMIT};
pub use log_line::LogLine;
pub use message::{
    queue_messages, Batch, Hop, QueueMessage, Target, INLINE_MESSAGE_LIMIT, QUEUE_MESSAGE_LIMIT,
};
pub use origin::{origin_request, origin_request_signed, OriginRequest};
