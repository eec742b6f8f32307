//! Error pieces every domain module shares. Each module has its own `thiserror` enum; what they have in
//! common — an invalid input field — lives here, below all of them.

/// One invalid input field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}
