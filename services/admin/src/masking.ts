import type { DivergenceItem } from '@recon/contracts';
import { maskNomeOnce, maskNomesInText } from '@recon/rules';

const NOME_DETALHES = /^nome no arquivo "([\s\S]*)", na base "([\s\S]*)"$/;

/**
 * What a viewer sees (technical document §4.4): `nome` as `***Silva`, also inside `detalhes`
 * (a TIPO_3_NOME row quotes both names there).
 */
export function maskItem(item: DivergenceItem): DivergenceItem {
  const m = NOME_DETALHES.exec(item.detalhes);
  const detalhes =
    m === null
      ? maskNomesInText(item.detalhes)
      : `nome no arquivo "${maskNomeOnce(m[1]!)}", na base "${maskNomeOnce(m[2]!)}"`;
  return { ...item, nome: maskNomeOnce(item.nome), detalhes };
}
