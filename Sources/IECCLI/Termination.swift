internal import Dispatch
internal import Glibc

/// Blocks until SIGTERM or SIGINT arrives, for daemons' main threads; SIGPIPE is
/// ignored (a peer that went away is an error return, not a reason to die).
public func waitForTermination() {
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
    let done = DispatchSemaphore(value: 0)
    let sources = [SIGTERM, SIGINT].map { number in
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { done.signal() }
        source.resume()
        return source
    }
    done.wait()
    sources.forEach { $0.cancel() }
}
