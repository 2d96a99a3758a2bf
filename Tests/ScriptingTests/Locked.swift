import Synchronization

/// A value that host functions and threads of a test share.
///
/// A class around `Mutex`, since Swift 6.0 cannot capture a noncopyable
/// `Mutex` itself in an escaping closure.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }

    var value: Value { withLock { $0 } }
}
