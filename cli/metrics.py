"""placeholder"""
import click
@click.command("metrics")
def metrics_command():
    pass
