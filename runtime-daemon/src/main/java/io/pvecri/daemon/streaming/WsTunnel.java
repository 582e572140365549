package io.pvecri.daemon.streaming;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

import java.util.List;

/**
 * SPDY tunnelled through WebSocket ({@code SPDY/3.1+portforward.k8s.io}, client-go's
 * {@code NewSPDYOverWebsocketDialer}): binary messages carry the bytes of a SPDY/3.1 session,
 * cut anywhere. This codec turns messages into bytes for the SPDY codec and back.
 */
final class WsTunnel extends MessageToMessageCodec<WebSocketFrame, ByteBuf> {
    static final String PORT_FORWARD = "SPDY/3.1+portforward.k8s.io";

    @Override
    protected void encode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
        if (msg.isReadable()) {
            out.add(new BinaryWebSocketFrame(msg.retain()));
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, WebSocketFrame f, List<Object> out) {
        switch (f) {
            case BinaryWebSocketFrame b -> out.add(b.content().retain());
            case PingWebSocketFrame p -> ctx.writeAndFlush(new PongWebSocketFrame(p.content().retain()));
            case CloseWebSocketFrame c -> ctx.writeAndFlush(new CloseWebSocketFrame(1000, "")).addListener(ChannelFutureListener.CLOSE);
            default -> { } // text and pong messages carry nothing here
        }
    }
}
