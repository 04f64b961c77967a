import ArgumentParser
import Foundation
import Logging
import Portcullis

struct Revoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Revoke a token, a jti or a subject through the configured blocklist plugin."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "A token to revoke until its exp (plus leeway). It must verify (expiry aside).")
    var token: String?

    @Option(help: "A jti to revoke (with --expires-at).")
    var jti: String?

    @Option(help: "Unix time until which the jti stays revoked.")
    var expiresAt: Int64?

    @Option(help: "A subject: every token of it issued until now is refused (needs a plugin with the subject capability).")
    var sub: String?

    func validate() throws {
        let forms = [token != nil, jti != nil, sub != nil].filter { $0 }.count
        guard forms == 1 else { throw ValidationError("give exactly one of --token, --jti (with --expires-at) or --sub") }
        if jti != nil && expiresAt == nil { throw ValidationError("--jti needs --expires-at") }
        if jti == nil && expiresAt != nil { throw ValidationError("--expires-at goes with --jti") }
        if jti?.isEmpty == true || sub?.isEmpty == true { throw ValidationError("--jti and --sub cannot be empty") }
    }

    func run() throws {
        let runtime = try options.loadRuntime()
        let config = runtime.config
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "portcullis.revoke")
        logger.logLevel = .warning
        let revocation = try options.loadRevocation(config, logger: logger, failureCode: 2)
        defer { revocation.shutdown() }
        let plugin = revocation.plugin
        let outcome: Result<String, PluginCallError>
        if let token {
            guard case .success(let verified) = runtime.verifier.verifySignatureAndClaims(token) else {
                printError("portcullis revoke: the token does not verify against the configured issuers; nothing was revoked")
                throw ExitCode(1)
            }
            let identity = RevocationWindow.entry(for: verified, jwt: config.jwt)
            let until = identity.expiresAt ?? .max
            outcome = Result { () throws(PluginCallError) in
                try plugin.revoke(identity)
                return "revoked jti \(identity.jti) until \(until)"
            }
        } else if let jti, let expiresAt {
            outcome = Result { () throws(PluginCallError) in
                try plugin.revoke(RevocationToken(jti: jti, expiresAt: expiresAt))
                return "revoked jti \(jti) until \(expiresAt)"
            }
        } else if let sub {
            guard plugin.capabilities.contains(.subject) else {
                printError("portcullis revoke: blocklist plugin \(plugin.path) cannot revoke subjects (no PC_CAP_SUBJECT); nothing was revoked")
                throw ExitCode(2)
            }
            // As /logout?all=true: tokens issued until now, remembered while any could still be valid.
            let (now, until) = RevocationWindow.subject(now: Int64(Date().timeIntervalSince1970), jwt: config.jwt)
            outcome = Result { () throws(PluginCallError) in
                try plugin.revokeSubject(sub, at: now, until: until)
                return "revoked subject \(sub) for tokens issued at or before \(now), until \(until)"
            }
        } else {
            throw ExitCode(1)  // validate() admits exactly one form
        }
        switch outcome {
        case .success(let message):
            print(message)
        case .failure(let error):
            printError("portcullis revoke: blocklist plugin \(plugin.path) failed: \(error)")
            throw ExitCode(2)
        }
    }
}
