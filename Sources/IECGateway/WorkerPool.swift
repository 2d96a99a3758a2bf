internal import Glibc

/// A fixed number of threads running queued jobs. Requests block on iec-am
/// calls; a bounded pool keeps that from growing threads without limit, and
/// one slow call occupies one worker, never the socket thread.
final class WorkerPool: @unchecked Sendable {
    // Guarded by `mutex`; waited on with `condition`.
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var stopping = false
    private var running = 0
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    let maxQueued: Int

    init(threads: Int, maxQueued: Int = 10_000) {
        self.maxQueued = maxQueued
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        running = threads
        for _ in 0..<threads { spawn() }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Queues a job; false when the queue is full or the pool is stopping.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard !stopping, jobs.count - head < maxQueued else { return false }
        jobs.append(job)
        pthread_cond_signal(condition)
        return true
    }

    /// Jobs queued and not yet started.
    var queued: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return jobs.count - head
    }

    /// Refuses new jobs, lets every queued one finish, and returns once the threads have ended.
    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(condition)
        while running > 0 { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }

    private func finished() {
        pthread_mutex_lock(mutex)
        running -= 1
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    private func next() -> (@Sendable () -> Void)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head >= jobs.count {
            if stopping { return nil }
            pthread_cond_wait(condition, mutex)
        }
        let job = jobs[head]
        head += 1
        if head > 1024, head * 2 > jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }

    private func spawn() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { argument in
            let pool = Unmanaged<WorkerPool>.fromOpaque(argument!).takeRetainedValue()
            while let job = pool.next() { job() }
            pool.finished()
            return nil
        }, box)
        precondition(status == 0, "cannot start a worker thread")
        pthread_detach(thread)
    }
}
