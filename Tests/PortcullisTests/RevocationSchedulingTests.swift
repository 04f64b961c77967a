import Foundation
import NIOCore
import NIOPosix
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// Revocation on the request path with the probe plugin: verdicts, on_error, timeouts, and
/// where and how the plugin is called.
@Suite("Revocation on the request path")
struct RevocationSchedulingTests {
    private let tokens = RevocationGateway.tokens

    private func blocklist(_ path: String, onError: String = "deny", timeout: String = "500ms") -> String {
        "plugin: \(path)\non_error: \(onError)\ntimeout: \(timeout)"
    }

    /// `count` requests at once, each on its own connection; their statuses.
    private func concurrentStatuses(_ gateway: GatewayHarness, count: Int) async throws -> [Int] {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<count {
                let token = tokens.token(jti: "fine-\(index)")
                group.addTask { try await RevocationGateway.get(gateway, token: token).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test("a revoked token is refused with 401 token_revoked and never reaches the upstream", arguments: ["", "CAPS=(PC_CAP_NONBLOCKING|PC_CAP_THREADSAFE)"])
    func revokedRefused(variant: String) async throws {
        let plugin = try ProbePlugin.build(variant.isEmpty ? [] : [variant])
        try await RevocationGateway.with(blocklist: blocklist(plugin)) { gateway, upstream in
            let refused = try await RevocationGateway.get(gateway, token: tokens.token(jti: "revoked-1"))
            #expect(refused.status == 401)
            #expect(refused.bodyText.contains(#""error":"token_revoked""#))
            #expect(refused.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
            let allowed = try await RevocationGateway.get(gateway, token: tokens.token(jti: "fine-1"))
            #expect(allowed.status == 200)
            let seen = try await upstream.waitForRequests(count: 1, timeout: .seconds(5))
            #expect(seen.count == 1)
        }
    }

    @Test("a refresh token on an auth: refresh route is checked the same way")
    func refreshChecked() async throws {
        try await RevocationGateway.with(blocklist: blocklist(try ProbePlugin.build())) { gateway, _ in
            let revoked = tokens.token(type: .refresh, jti: "revoked-r")
            let refused = try await RevocationGateway.get(gateway, "/auth/refresh", token: revoked, header: "X-Refresh-Token:")
            #expect(refused.status == 401)
            #expect(refused.bodyText.contains("token_revoked"))
            let fine = tokens.token(type: .refresh, jti: "fine-r")
            #expect(try await RevocationGateway.get(gateway, "/auth/refresh", token: fine, header: "X-Refresh-Token:").status == 200)
        }
    }

    @Test("a failing blocklist gives 503 revocation_unavailable with on_error: deny")
    func failureDenied() async throws {
        let plugin = try ProbePlugin.build(["CHECK_STATUS=PC_ERR_UNAVAILABLE"])
        try await RevocationGateway.with(blocklist: blocklist(plugin)) { gateway, upstream in
            // Twice: each failure is answered and counted, and the gateway keeps serving.
            for attempt in 1...2 {
                let response = try await RevocationGateway.get(gateway, token: tokens.token(jti: "fine-\(attempt)"))
                #expect(response.status == 503)
                #expect(response.bodyText.contains(#""error":"revocation_unavailable""#))
                #expect(gateway.runtime.runtime.revocation?.failureCount == attempt)
            }
            #expect(upstream.requests.isEmpty)
        }
    }

    @Test("a failing blocklist lets the request through with on_error: allow, logged and counted")
    func failureAllowed() async throws {
        let plugin = try ProbePlugin.build(["CHECK_STATUS=PC_ERR_UNAVAILABLE"])
        let recorder = LogRecorder()
        try await RevocationGateway.with(blocklist: blocklist(plugin, onError: "allow"), logger: recorder.logger(level: .warning)) {
            gateway, _ in
            let response = try await RevocationGateway.get(gateway, token: tokens.token(jti: "fine-1"))
            #expect(response.status == 200)
            #expect(gateway.runtime.runtime.revocation?.failureCount == 1)
            let warning = try #require(recorder.recorded.first { $0.message.hasPrefix("revocation check failed") })
            #expect(warning.metadata["portcullis.reason"]?.contains("backend down") == true)
        }
    }

    @Test("a check slower than blocklist.timeout is a failure: 503 with on_error: deny")
    func timeoutDenied() async throws {
        let plugin = try ProbePlugin.build(["DELAY_MS=400"])
        try await RevocationGateway.with(blocklist: blocklist(plugin, timeout: "50ms")) { gateway, upstream in
            // Twice: the second check waits behind the first one's late answer and still gets
            // its own timeout, not a hang.
            for attempt in 1...2 {
                let response = try await RevocationGateway.get(gateway, token: tokens.token(jti: "fine-\(attempt)"))
                #expect(response.status == 503)
                #expect(response.bodyText.contains("revocation_unavailable"))
                #expect(gateway.runtime.runtime.revocation?.failureCount == attempt)
            }
            #expect(upstream.requests.isEmpty)
        }
    }

    @Test("a blocking plugin is called on worker threads, a NONBLOCKING one on the event loop")
    func threadsByCapability() async throws {
        for (caps, expectedPrefix) in [("(PC_CAP_THREADSAFE|PC_CAP_BATCH)", "TP-#"), ("(PC_CAP_NONBLOCKING|PC_CAP_THREADSAFE)", "NIO-ELT-")] {
            let recorder = LogRecorder()
            let plugin = try ProbePlugin.build(["CAPS=\(caps)"])
            try await RevocationGateway.with(blocklist: blocklist(plugin), logger: recorder.logger(level: .info)) { gateway, _ in
                _ = try await concurrentStatuses(gateway, count: 4)
            }
            let threads = recorder.messages.filter { $0.hasPrefix("batch=") }.map { $0.components(separatedBy: "thread=")[1] }
            #expect(threads.count >= 1)
            #expect(threads.allSatisfy { $0.hasPrefix(expectedPrefix) }, "\(caps): \(threads)")
        }
    }

    @Test("checks waiting at the same moment reach a BATCH plugin in one call")
    func batching() async throws {
        let recorder = LogRecorder()
        let plugin = try ProbePlugin.build(["DELAY_MS=100"])
        try await RevocationGateway.with(blocklist: blocklist(plugin, timeout: "5s"), logger: recorder.logger(level: .info)) {
            gateway, _ in
            let statuses = try await concurrentStatuses(gateway, count: 24)
            #expect(statuses.allSatisfy { $0 == 200 })
        }
        let sizes = recorder.messages.compactMap { message -> Int? in
            guard message.hasPrefix("batch=") else { return nil }
            return Int(message.dropFirst(6).prefix { $0.isNumber })
        }
        #expect(sizes.reduce(0, +) == 24)
        #expect(sizes.contains { $0 > 1 }, "batch sizes: \(sizes)")
    }

    @Test("a plugin without THREADSAFE is never called twice at once")
    func serializedWithoutThreadsafe() async throws {
        let recorder = LogRecorder()
        let plugin = try ProbePlugin.build(["CAPS=0", "DELAY_MS=10"])
        try await RevocationGateway.with(blocklist: blocklist(plugin, timeout: "5s"), workers: 2, logger: recorder.logger(level: .info)) {
            gateway, _ in
            let statuses = try await concurrentStatuses(gateway, count: 16)
            #expect(statuses.allSatisfy { $0 == 200 })
        }
        #expect(recorder.messages.filter { $0.hasPrefix("batch=") }.count == 16)
        #expect(!recorder.messages.contains("overlap"))
    }
}

/// How many workers drain the check queue of a blocking plugin: one while the backend keeps
/// up, more once checks pile up behind a slow one.
@Suite("Revocation check drainers")
struct RevocationDrainerTests {
    /// `count` checks queued at once on one loop with the probe plugin (THREADSAFE, no BATCH,
    /// so each call takes one check, and `DELAY_MS` per call); the plugin's log lines.
    private func checks(_ count: Int, delayMilliseconds: Int) async throws -> [String] {
        let recorder = LogRecorder()
        let path = try ProbePlugin.build(["CAPS=PC_CAP_THREADSAFE", "DELAY_MS=\(delayMilliseconds)"])
        let plugin = try BlocklistPlugin.open(path: path, configJSON: "{}", logger: recorder.logger(level: .info))
        let service = RevocationService(plugin: plugin, settings: BlocklistSettings(), logger: recorder.logger(level: .info))
        defer { service.shutdown() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let answered = loop.submit {
            (0..<count).map { index in
                let promise = loop.makePromise(of: RevocationService.Outcome.self)
                service.enqueueCheck(RevocationToken(jti: "fine-\(index)"), on: loop) { outcome in
                    #expect(loop.inEventLoop)
                    promise.succeed(outcome)
                }
                return promise.futureResult
            }
        }.flatMap { EventLoopFuture.whenAllSucceed($0, on: loop) }
        let outcomes = try await answered.get()
        try await group.shutdownGracefully()
        #expect(outcomes == Array(repeating: .notRevoked, count: count))
        return recorder.messages
    }

    @Test("a handful of waiting checks is drained by one worker, one call at a time")
    func oneDrainer() async throws {
        let messages = try await checks(RevocationBatchQueue.backlogPerDrainer / 2, delayMilliseconds: 2)
        #expect(messages.filter { $0.hasPrefix("batch=1 ") }.count == RevocationBatchQueue.backlogPerDrainer / 2)
        #expect(!messages.contains("overlap"))
    }

    @Test("a backlog beyond backlogPerDrainer starts more workers, which call the plugin at once")
    func moreDrainersForABacklog() async throws {
        let messages = try await checks(RevocationBatchQueue.backlogPerDrainer * 3, delayMilliseconds: 2)
        #expect(messages.contains("overlap"))
    }
}
