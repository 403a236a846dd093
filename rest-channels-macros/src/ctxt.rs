//! Errors collected over a whole expansion and reported together.

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// The errors found so far, as in serde_derive's `Ctxt`: every stage pushes
/// what it finds and goes on, so one expansion reports every mistake at once.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
        }
    }

    /// An error at one span.
    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// An error over the tokens of a syntax node (from its first token to its last).
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_none()
    }

    pub(crate) fn into_result(self) -> Result<(), syn::Error> {
        self.errors.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
impl Errors {
    /// The messages, in order, as tests assert them.
    pub(crate) fn into_messages(self) -> Vec<String> {
        match self.into_result() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }
}
