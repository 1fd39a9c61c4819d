using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// ASP.NET Core's side of the content listeners. A request reaches it on a data or parent listener
/// only when <see cref="SegmentServer"/> handed the connection to Kestrel because its first request was
/// not content (another path, answered 404 by the kit's listener routing). Such a connection is closed
/// after that answer, so the client's next request comes on a new connection and every content request,
/// plaintext or TLS, is answered by <see cref="SegmentConnection"/>: ASP.NET Core maps no content route.
/// </summary>
public static class HandedOverConnections
{
    /// <summary>Registers the middleware; call before the kit's listener routing, so its 404s close too.</summary>
    public static WebApplication UseHandedOverConnections(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            if (context.Features.Get<ListenerKindFeature>()?.Kind is ListenerKind.Data or ListenerKind.Parent)
            {
                context.Response.Headers.Connection = "close";
            }

            return next(context);
        });
        return app;
    }
}
