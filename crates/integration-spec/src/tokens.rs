//! Token counts with a real tokenizer: o200k_base (the encoding of current OpenAI models),
//! bundled by `tiktoken-rs`, so figures are what a model is charged, not a bytes/4 guess
//! (which reads about 9 % high on our JSON). Claude's tokenizer is not public; o200k is the
//! yardstick every figure in this project uses.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

fn encoder() -> &'static CoreBPE {
    static ENCODER: OnceLock<CoreBPE> = OnceLock::new();
    ENCODER.get_or_init(|| tiktoken_rs::o200k_base().expect("the bundled o200k_base loads"))
}

/// How many o200k_base tokens `text` is.
pub fn count(text: &str) -> usize {
    encoder().encode_ordinary(text).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_o200k_base() {
        // Reference counts from OpenAI's tiktoken (o200k_base).
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        assert_eq!(count(r#"{"id":1}"#), 5);
    }
}
