"""``exemplar serve``: the local web app (see :mod:`exemplar.serve`)."""

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default is this computer only; 0.0.0.0 lets the whole network in.")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--reference-dir", type=click.Path(exists=True, file_okay=False), metavar="DIR",
              help="A folder of colour photos the page offers as references, and searches by similarity "
                   "(embeddings are cached in DIR/.exemplar_index.npz).")
@click.option("--method", default="net", show_default=True, type=click.Choice(["match", "net"]),
              help="'net': the trained network shipped with the package; 'match': training-free correspondence.")
@click.option("--weights", type=click.Path(file_okay=False),
              help="For --method net: a folder with default.npz and default.json (a model you trained).")
@click.option("--follow-reference", is_flag=True,
              help="For --method net: copy the reference's colours wherever they match, without the learned trust.")
@click.option("--size", default=256, show_default=True, type=click.IntRange(64, 2048),
              help="Working short side in pixels: the model sees this size, results keep the full size.")
@click.option("--max-upload-mb", default=64.0, show_default=True, type=click.FloatRange(min=0.001),
              help="Refuse uploaded files larger than this (megabytes).")
@click.option("--max-megapixels", default=100.0, show_default=True, type=click.FloatRange(min=0.01),
              help="Refuse images larger than this instead of running out of memory.")
@click.option("--max-waiting", default=32, show_default=True, type=click.IntRange(1, 1000),
              help="How many photos may wait in the queue; more are told to try again later.")
def serve(host, port, reference_dir, method, weights, follow_reference, size, max_upload_mb, max_megapixels,
          max_waiting):
    """Open a local web page for colorizing photos: upload, pick references or a palette, download.

    Photos are colorized one at a time, in the order they were sent; uploads and results live in
    a temporary folder that is deleted when the server stops (Ctrl-C).
    """
    try:
        from exemplar.serve.server import Server
    except ImportError as error:
        raise click.ClickException(f"the web app needs the 'web' extra ({error.name} is missing): "
                                   'pip install "exemplar[web]"') from error

    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: anyone who can reach this address can use the page", err=True)
    server = Server(host=host, port=port, max_upload_mb=max_upload_mb, max_megapixels=max_megapixels,
                    max_waiting=max_waiting, method=method, size=size, weights=weights,
                    follow_reference=follow_reference, reference_dir=reference_dir)
    server.start()
    click.echo(f"exemplar: open {server.url} in a browser (models are loading; Ctrl-C stops the server)")
    server.run()
