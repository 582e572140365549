package io.pvecri.daemon.e2e;

import io.pvecri.proto.admin.v1.ImportedImage;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * One daemon per test class, with the busybox image imported:
 *
 * <pre>
 * &#64;RegisterExtension
 * static final DaemonExtension daemon = new DaemonExtension();
 * ...
 * Pod pod = daemon.pods().run("web");
 * </pre>
 *
 * When a test fails, the daemon's stderr is printed. After the last test everything the daemon
 * made is removed (see {@link Daemon#close()}).
 */
public final class DaemonExtension implements BeforeAllCallback, AfterAllCallback, TestExecutionExceptionHandler,
        LifecycleMethodExecutionExceptionHandler {
    private final java.util.function.Supplier<Daemon> starter;
    private Daemon daemon;
    private Pods pods;

    /** A daemon started with {@link Daemon#start()}. */
    public DaemonExtension() {
        this(Daemon::start);
    }

    /** A daemon started by {@code starter}, e.g. {@code () -> Daemon.start(extraConfig)}. */
    public DaemonExtension(java.util.function.Supplier<Daemon> starter) {
        this.starter = starter;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        daemon = starter.get();
        try {
            daemon.importBusybox();
        } catch (RuntimeException | Error e) {
            printDaemonLog(context);
            throw e;
        }
        pods = new Pods(daemon);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (daemon != null) {
            Daemon closing = daemon;
            daemon = null;
            closing.close();
            if (!closing.leftovers().isEmpty()) {
                throw new AssertionError("the daemon left things behind: " + closing.leftovers());
            }
        }
    }

    public Daemon daemon() {
        if (daemon == null) {
            throw new IllegalStateException("the daemon extension has not started a daemon (register it static)");
        }
        return daemon;
    }

    public Pods pods() {
        daemon();
        return pods;
    }

    public ImportedImage busybox() {
        return daemon().importBusybox();
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        printDaemonLog(context);
        throw throwable;
    }

    @Override
    public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        printDaemonLog(context);
        throw throwable;
    }

    @Override
    public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        printDaemonLog(context);
        throw throwable;
    }

    @Override
    public void handleAfterEachMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        printDaemonLog(context);
        throw throwable;
    }

    private void printDaemonLog(ExtensionContext context) {
        if (daemon != null) {
            System.err.println("[e2e] " + context.getDisplayName() + " failed; daemon log follows");
            daemon.printLog();
        }
    }
}
