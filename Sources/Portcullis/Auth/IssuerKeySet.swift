import Synchronization

/// The keys of one issuer: those from local sources, fixed for the verifier's lifetime, plus a
/// remote set (from `jwks_url`) that a fetcher replaces as a whole.
///
/// The remote set is an immutable ``KeyIndex`` swapped under a lock that is held only for the
/// pointer copy. Every swap bumps the shared ``KeyGeneration`` so per-loop caches of verified
/// tokens drop what a removed key had vouched for.
final class IssuerKeySet: Sendable {
    enum Selection {
        case keys([VerificationKey])
        /// The issuer has no key at all yet (its remote JWKS was never fetched).
        case unavailable
        case unknownKeyID
        case noKeyForAlgorithm
    }

    let staticKeys: KeyIndex
    /// Whether a `jwks_url` source feeds this issuer.
    let hasRemoteSource: Bool
    private let remote: Mutex<KeyIndex?>
    private let generation: KeyGeneration
    /// Told when a token is refused for want of its key (see ``reportMissingKey()``).
    private let unknownKeyIDObserver: Mutex<(@Sendable () -> Void)?>

    init(staticKeys: [VerificationKey], hasRemoteSource: Bool, generation: KeyGeneration) {
        self.staticKeys = KeyIndex(staticKeys)
        self.hasRemoteSource = hasRemoteSource
        self.remote = Mutex(nil)
        self.generation = generation
        self.unknownKeyIDObserver = Mutex(nil)
    }

    /// Sets the callback for tokens naming a key this issuer lacks (the JWKS fetcher's refetch
    /// signal). It runs on the verifying event loop, so it must only note the fact and return.
    func observeUnknownKeyIDs(_ observer: @escaping @Sendable () -> Void) {
        unknownKeyIDObserver.withLock { $0 = observer }
    }

    /// The current remote set; `nil` until the first successful fetch.
    var remoteKeys: KeyIndex? { hasRemoteSource ? remote.withLock { $0 } : nil }

    /// Whether any key can be had now (readiness).
    var hasKeys: Bool { !staticKeys.isEmpty || !(remoteKeys?.isEmpty ?? true) }

    /// Replaces the remote set (a later JWKS fetch calls this) and invalidates cached verdicts.
    func replaceRemoteKeys(_ keys: [VerificationKey]) {
        let index = KeyIndex(keys)
        remote.withLock { $0 = index }
        generation.bump()
    }

    /// The keys to try for a token, in order (SPEC section 2: "tried by `kid`, then all of
    /// them"): the keys named by its `kid` first, then every other key fitting the algorithm,
    /// so a secret or PEM key without a `kid` still verifies a token that carries one.
    func select(keyID: String?, algorithm: JWTAlgorithm) -> Selection {
        let remote = remoteKeys
        if staticKeys.isEmpty, remote?.isEmpty ?? true { return .unavailable }
        var candidates = staticKeys.keys(for: algorithm)
        if let remote { candidates += remote.keys(for: algorithm) }
        if let keyID {
            let named = candidates.filter { $0.keyID == keyID }
            let others = candidates.filter { $0.keyID != keyID }
            if named.isEmpty && others.isEmpty { return .unknownKeyID }
            candidates = named + others
        }
        return candidates.isEmpty ? .noKeyForAlgorithm : .keys(candidates)
    }

    /// A token was refused for want of its key: its `kid` (or algorithm) matches none of ours.
    /// Tells the observer when the issuer has a remote set (a rotated key may have been
    /// published since the last fetch); the refusal itself is not delayed.
    func reportMissingKey() {
        guard hasRemoteSource else { return }
        unknownKeyIDObserver.withLock { $0 }?()
    }
}

/// A counter that changes whenever any issuer's remote key set is replaced.
final class KeyGeneration: Sendable {
    private let value = Atomic<UInt64>(0)

    var current: UInt64 { value.load(ordering: .acquiring) }

    func bump() { value.add(1, ordering: .releasing) }
}
