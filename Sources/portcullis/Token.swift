import ArgumentParser
import Foundation
import Portcullis

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mint a signed token with the first issuer that has a private or HMAC key (for trying things out)."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "The `sub` claim.")
    var sub: String

    @Option(help: "access or refresh.")
    var type: String = "access"

    @Option(help: "Lifetime: 250ms, 30s, 15m, 2h, 7d or seconds (default 15m for access, 7d for refresh).")
    var ttl: String?

    @Option(name: .customLong("claim"), help: "Extra claim k=v (v is parsed as JSON when it is valid JSON, else a string).")
    var claims: [String] = []

    func run() throws {
        guard let tokenType = TokenType(rawValue: type) else {
            throw ValidationError("--type must be access or refresh")
        }
        let lifetime: Duration
        if let ttl {
            guard let parsed = DurationSyntax.parse(ttl) else { throw ValidationError("invalid --ttl '\(ttl)'") }
            lifetime = parsed
        } else {
            lifetime = tokenType == .access ? .seconds(15 * 60) : .seconds(7 * 86400)
        }
        var extra: [String: JSONValue] = [:]
        for claim in claims {
            guard let equals = claim.firstIndex(of: "="), equals != claim.startIndex else {
                throw ValidationError("--claim must be k=v, got '\(claim)'")
            }
            let value = String(claim[claim.index(after: equals)...])
            extra[String(claim[..<equals])] = JSONValue.parse(Array(value.utf8)) ?? .string(value)
        }
        let minter = try makeMinter()
        let now = Int64(Date().timeIntervalSince1970)
        print(minter.mint(subject: sub, type: tokenType, ttl: lifetime, extraClaims: extra, now: now))
    }

    private func makeMinter() throws -> TokenMinter {
        let result: Result<TokenMinter, ConfigErrors> = Result { () throws(ConfigErrors) in
            try TokenMinter(settings: ConfigLoader.load(file: options.configPath).jwt)
        }
        switch result {
        case .success(let minter): return minter
        case .failure(let errors):
            for error in errors.errors { printError(error.description) }
            throw ExitCode(1)
        }
    }
}
