//! The uniffi generator, built from the same pinned uniffi as `sebaya-ffi`.
fn main() {
    uniffi::uniffi_bindgen_main()
}
