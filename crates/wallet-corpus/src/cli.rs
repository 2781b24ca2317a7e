pub(crate) fn cases() -> Vec<crate::Runnable> {
    Vec::new()
}
