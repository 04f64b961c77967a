import NIOCore

/// `GET /readyz`: ready when a config is loaded (always, once the listener runs), every
/// issuer has keys, and the blocklist plugin's `health` answers `PC_OK` in time.
enum AdminReadiness {
    /// The shortest wait for `health`, so a tight `blocklist.timeout` does not make a
    /// merely busy backend look down.
    static let minimumHealthTimeout: Duration = .seconds(1)

    /// Answers on `loop`; a plugin whose `health` does not return within
    /// max(`blocklist.timeout`, 1 s) makes the gateway not ready (the call itself is left to
    /// finish on its worker).
    static func check(_ runtime: GatewayRuntime, on loop: EventLoop) -> EventLoopFuture<AdminResponse> {
        let keyReasons = runtime.verifier.issuersAwaitingKeys.map { "no keys yet for issuer \($0)" }
        guard let revocation = runtime.revocation else {
            return loop.makeSucceededFuture(answer(keyReasons))
        }
        let timeout = max(revocation.settings.timeout, minimumHealthTimeout)
        let pluginReasons = loop.firstOf(
            timeout: TimeAmount(timeout), orElse: { ["blocklist plugin health did not answer within \(timeout)"] }
        ) { deliver in
            revocation.perform(on: loop) { plugin throws(PluginCallError) in
                try plugin.health()
            }.whenSuccess { result in
                switch result {
                case .success: deliver([])
                case .failure(let error): deliver(["blocklist plugin health failed: \(error)"])
                }
            }
        }
        return pluginReasons.map { pluginReasons in answer(keyReasons + pluginReasons) }
    }

    private static func answer(_ reasons: [String]) -> AdminResponse {
        guard !reasons.isEmpty else {
            return AdminResponse(status: 200, body: #"{"status":"ready"}"#)
        }
        let body = JSONValue.object(["status": .string("not_ready"), "reasons": .array(reasons.map(JSONValue.string))])
        return AdminResponse(status: 503, body: body.compactText)
    }
}
