//! How the library words an error for people: its own sentence, then each
//! cause once, on one line (as `main` prints them). Error types never
//! repeat their source's text in their own message.

use std::error::Error;

/// `error` and its causes on one line, separated by ": ".
pub fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read take.mid")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn each_cause_once_after_the_sentence() {
        let error = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(chain(&error), "cannot read take.mid: disk on fire");
    }
}
