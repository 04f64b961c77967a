import NIOConcurrencyHelpers
import NIOCore

/// The connections a test server has accepted and not yet seen closed, so that its
/// `shutdown()` can close them all.
public final class OpenChannels: Sendable {
    private let state = NIOLockedValueBox((open: [ObjectIdentifier: any Channel](), accepted: 0))

    public init() {}

    /// How many connections were accepted in all.
    public var accepted: Int { state.withLockedValue { $0.accepted } }

    /// Remembers `channel` until it closes.
    public func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLockedValue { state in
            state.open[id] = channel
            state.accepted += 1
        }
        channel.closeFuture.whenComplete { [state] _ in
            _ = state.withLockedValue { $0.open.removeValue(forKey: id) }
        }
    }

    /// Closes every connection still open.
    public func closeAll() async {
        let channels = state.withLockedValue { Array($0.open.values) }
        for channel in channels { try? await channel.close() }
    }
}
