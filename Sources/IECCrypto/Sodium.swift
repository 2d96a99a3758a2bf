internal import CSodium

/// libsodium must be initialised once before use; `sodium_init` is itself
/// thread-safe and idempotent, and this lazy global runs it exactly once.
private let sodiumReady: Bool = sodium_init() >= 0

func requireSodium() {
    precondition(sodiumReady, "libsodium failed to initialise")
}
