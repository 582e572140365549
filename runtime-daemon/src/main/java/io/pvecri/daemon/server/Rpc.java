package io.pvecri.daemon.server;

import io.grpc.stub.StreamObserver;

import java.util.List;
import java.util.function.Function;

/** Runs one RPC's body and completes the observer, with failures mapped by {@link StatusMapper}. */
final class Rpc {
    private Rpc() {}

    interface Body<T> {
        T call() throws Exception;
    }

    static <T> void unary(String method, StreamObserver<T> out, Body<T> body) {
        T response;
        try {
            response = body.call();
        } catch (Throwable t) {
            out.onError(StatusMapper.toStatus(method, t));
            return;
        }
        out.onNext(response);
        out.onCompleted();
    }

    /** Server-streaming list: the items are sent in pages of {@code page}. */
    static <I, T> void pages(String method, StreamObserver<T> out, Body<List<I>> items, int page, Function<List<I>, T> wrap) {
        List<I> all;
        try {
            all = items.call();
        } catch (Throwable t) {
            out.onError(StatusMapper.toStatus(method, t));
            return;
        }
        for (int i = 0; i < all.size(); i += page) {
            out.onNext(wrap.apply(all.subList(i, Math.min(all.size(), i + page))));
        }
        if (all.isEmpty()) {
            out.onNext(wrap.apply(List.of()));
        }
        out.onCompleted();
    }
}
