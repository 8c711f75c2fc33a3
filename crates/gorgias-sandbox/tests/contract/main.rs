//! Contract tests of the sandbox, written from the reference (`shared/gorgias-api.md`), over
//! real sockets with reqwest. Section numbers in test names point into the reference.

mod support;

mod auth_and_limits;
mod customers;
mod faults;
mod in_process;
mod messages;
mod oauth;
mod other_resources;
mod pagination;
mod tickets;
