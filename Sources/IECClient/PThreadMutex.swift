internal import Glibc

/// A pthread mutex with a fixed address: the SDK's locks, which
/// ThreadSanitizer understands (it reports `Synchronization.Mutex` as racy).
package final class PThreadMutex: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    package func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A value behind a `PThreadMutex`.
package final class Locked<Value>: @unchecked Sendable {
    private let lock = PThreadMutex()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    package func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        try lock.withLock { () throws(E) -> T in try body(&value) }
    }
}

/// Runs blocking work on a thread of its own, so that an `async` caller never
/// blocks a thread of Swift's cooperative pool while the SDK waits for the gateway.
enum BlockingWork {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws(IECClientError) -> T) async throws(IECClientError) -> T {
        let result: Result<T, IECClientError> = await withCheckedContinuation { continuation in
            let work: @Sendable () -> Void = {
                do throws(IECClientError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !start(work) { work() }  // no thread to be had: do it here rather than not at all
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw error
        }
    }

    /// Starts `body` on a detached pthread; false when none could be made.
    private static func start(_ body: @escaping () -> Void) -> Bool {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&thread, &attributes, { argument in
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, context)
        if status != 0 {
            Unmanaged<Box>.fromOpaque(context).release()
            return false
        }
        return true
    }
}
