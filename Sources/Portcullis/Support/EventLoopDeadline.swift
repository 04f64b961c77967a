import NIOCore

extension EventLoop {
    /// The first of an answer that arrives from another thread and a timeout, on this loop.
    ///
    /// `start` is handed the function that delivers the answer (callable from any thread, this
    /// loop included, at most once); if `timeout` passes first, the future has `timedOut()`
    /// and a later answer is dropped. Call on this loop.
    func firstOf<Value: Sendable>(
        timeout: TimeAmount, orElse timedOut: @escaping @Sendable () -> Value,
        _ start: (_ answer: @escaping @Sendable (Value) -> Void) -> Void
    ) -> EventLoopFuture<Value> {
        let promise = makePromise(of: Value.self)
        let settled = NIOLoopBoundBox(false, eventLoop: self)
        let timer = scheduleTask(in: timeout) {
            guard !settled.value else { return }
            settled.value = true
            promise.succeed(timedOut())
        }
        @Sendable func settle(_ value: Value) {
            guard !settled.value else { return }
            settled.value = true
            timer.cancel()
            promise.succeed(value)
        }
        start { value in
            // Already on this loop (an answer delivered there, or given at once): settle now
            // rather than queue one more task.
            if self.inEventLoop {
                settle(value)
            } else {
                self.execute { settle(value) }
            }
        }
        return promise.futureResult
    }
}
