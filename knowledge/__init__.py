"""Documents to structured articles and chunks: loaders, the legal-structure parser, relations, samples."""
