//! Input validation: every value a user can give, checked before any network call.
//!
//! Each validator takes the flag as the user typed it first (`names::storage_account(
//! "--storage-account", v)`) and returns the value to use, or an [`InvalidInput`](crate::InvalidInput)
//! that names the flag, quotes the value, says what is wrong and what would be right.

pub mod amlfs;
pub mod cidr;
pub mod kube;
pub mod location;
pub mod lustre;
pub mod names;
pub mod nfs;
pub mod sku;
pub mod tags;

#[cfg(test)]
mod fuzz_tests;
mod text;
