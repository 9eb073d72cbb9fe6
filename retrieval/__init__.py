"""Question to cited answer: embeddings, vector and lexical indexes, fusion, answer composition."""
