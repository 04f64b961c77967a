/// An immutable set of verification keys with the lookups verification needs, built once.
struct KeyIndex: Sendable {
    let keys: [VerificationKey]
    private let byKeyID: [String: [VerificationKey]]
    private let byAlgorithm: [JWTAlgorithm: [VerificationKey]]

    init(_ keys: [VerificationKey]) {
        self.keys = keys
        var byKeyID: [String: [VerificationKey]] = [:]
        var byAlgorithm: [JWTAlgorithm: [VerificationKey]] = [:]
        for key in keys {
            if let kid = key.keyID { byKeyID[kid, default: []].append(key) }
            for algorithm in JWTAlgorithm.allCases where key.supports(algorithm) {
                byAlgorithm[algorithm, default: []].append(key)
            }
        }
        self.byKeyID = byKeyID
        self.byAlgorithm = byAlgorithm
    }

    static let empty = KeyIndex([])

    var isEmpty: Bool { keys.isEmpty }

    /// Keys named `kid`, or `nil` when no key carries that id.
    func keys(withID kid: String) -> [VerificationKey]? { byKeyID[kid] }

    /// Every key whose type fits `algorithm`, named or not.
    func keys(for algorithm: JWTAlgorithm) -> [VerificationKey] { byAlgorithm[algorithm] ?? [] }
}
