"""PlanSearch (规划检索): search and question answering over district science-and-technology plans.

The library never imports Flask: ``search.engine.Engine`` is the facade that the CLI
and the web app share.
"""
