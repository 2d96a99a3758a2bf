internal import CZMQ
internal import Glibc

/// A POSIX thread that is joined (or detached) exactly once by its owner.
final class JoinableThread: Sendable {
    private final class Body {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }

    private let thread: pthread_t

    /// Starts `body` on a new thread called `name` (15 characters at most are shown by `ps`).
    init(name: String, _ body: @escaping @Sendable () -> Void) throws(MessagingError) {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Body(name: name, run: body)).toOpaque()
        let status = pthread_create(&thread, nil, { argument in
            let body = Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue()
            iec_thread_set_name(String(body.name.prefix(15)))
            body.run()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw MessagingError(.libraryFailure, "pthread_create: \(String(cString: strerror(status)))")
        }
        self.thread = thread
    }

    /// Whether the caller runs on this thread.
    var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Waits for the thread to end. Called once, never from the thread itself.
    func join() {
        precondition(!isCurrent, "a thread cannot join itself")
        _ = pthread_join(thread, nil)
    }

    /// Lets the thread end on its own (when its owner is called from it and cannot join).
    func detach() {
        _ = pthread_detach(thread)
    }
}
