package io.pvecri.daemon.streaming;

import java.io.IOException;
import java.net.ProtocolFamily;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Creates TCP sockets inside a pod's network namespace without a helper process: a fresh
 * platform thread enters the namespace with setns(2) (which affects only that thread), creates
 * the socket (a socket belongs to the namespace it was created in, whatever thread uses it
 * later), and goes back. The thread is used for nothing else, so even if going back failed no
 * other code could run in the wrong namespace.
 */
final class NetNs {
    private NetNs() {}

    static SocketChannel socket(Path netns, ProtocolFamily family) throws IOException {
        if (netns == null) {
            return SocketChannel.open(family); // host-network pod
        }
        FutureTask<SocketChannel> task = new FutureTask<>(() -> {
            int self = Native.open("/proc/thread-self/ns/net", Native.O_RDONLY | Native.O_CLOEXEC);
            int target = -1;
            try {
                target = Native.open(netns.toString(), Native.O_RDONLY | Native.O_CLOEXEC);
                Native.setns(target, Native.CLONE_NEWNET);
                try {
                    return SocketChannel.open(family);
                } finally {
                    Native.setns(self, Native.CLONE_NEWNET);
                }
            } finally {
                Native.close(target);
                Native.close(self);
            }
        });
        Thread t = Thread.ofPlatform().name("pvecri-netns").daemon().start(task);
        try {
            return task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while entering " + netns, e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException io ? new IOException("cannot open a socket in the pod network namespace " + netns + ": " + io.getMessage(), io)
                    : new IOException("cannot open a socket in " + netns + ": " + c, c);
        } finally {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
