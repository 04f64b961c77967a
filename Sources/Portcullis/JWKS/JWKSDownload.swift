import AsyncHTTPClient
import NIOCore

/// Why a `jwks_url` fetch did not produce a key set; `reason` is safe to log (no key material).
struct JWKSFetchFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// A fetched key set with the body it came from (to tell an unchanged set without comparing keys).
struct JWKSKeySet: Sendable {
    var body: [UInt8]
    var keys: [VerificationKey]
}

/// One GET of a `jwks_url`, bounded in time and size, parsed leniently (one bad key in a
/// published set must not hide the others).
struct JWKSDownload: Sendable {
    /// The whole exchange, connection to last body byte.
    var timeout: Duration
    var maximumBodyBytes: Int

    /// The keys at `url`. A non-2xx answer, a body over the limit, a set that does not parse
    /// or one without any usable signing key is a failure, so the caller keeps what it had.
    func fetch(_ url: String, using client: HTTPClient) async -> Result<JWKSKeySet, JWKSFetchFailure> {
        let body: [UInt8]
        do {
            body = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                group.addTask { try await self.body(at: url, using: client) }
                group.addTask {
                    try await Task.sleep(for: self.timeout)
                    throw JWKSFetchFailure(reason: "no complete answer within \(self.timeout)")
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw CancellationError() }
                return first
            }
        } catch let failure as JWKSFetchFailure {
            return .failure(failure)
        } catch is NIOTooManyBytesError {
            return .failure(JWKSFetchFailure(reason: "the answer is larger than \(maximumBodyBytes) bytes"))
        } catch {
            return .failure(JWKSFetchFailure(reason: "\(error)"))
        }
        let keys: [VerificationKey]
        do throws(KeyParseError) {
            keys = try JWKSParser.parse(body, strict: false)
        } catch {
            return .failure(JWKSFetchFailure(reason: error.message))
        }
        guard !keys.isEmpty else { return .failure(JWKSFetchFailure(reason: "the JWKS has no usable signing key")) }
        return .success(JWKSKeySet(body: body, keys: keys))
    }

    private func body(at url: String, using client: HTTPClient) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/jwk-set+json, application/json")
        let response = try await client.execute(request, timeout: TimeAmount(timeout))
        guard (200..<300).contains(response.status.code) else {
            throw JWKSFetchFailure(reason: "HTTP status \(response.status.code)")
        }
        let buffer = try await response.body.collect(upTo: maximumBodyBytes)
        return Array(buffer.readableBytesView)
    }
}
