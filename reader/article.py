from reader.records import *  # noqa: F403  (temporary, while a file still imports reader.article)
from reader.records import Article, ArticleRow, Problem, canonical_url, utc  # noqa: F401
